namespace Whittle.Tests.Engine.Conformance;

internal static partial class ConformanceExclusions
{
    private const string Bfloat16AsUInt16 =
        "ONNX 1.12 test data stores bfloat16 tensors as uint16 bit patterns (numpy had no bfloat16), which the harness reads as uint16";

    private const string RandomDropout =
        "expects a random mask from numpy's generator with training_mode=true; the Engine drops only in train() mode, with torch's generator";

    /// <summary>Known failures of the elementwise converters: (test name, reason).</summary>
    private static readonly (string Test, string Reason)[] ElementwiseReasons =
    [
        ("test_cast_BFLOAT16_to_FLOAT", Bfloat16AsUInt16),
        ("test_cast_FLOAT_to_BFLOAT16", Bfloat16AsUInt16 + "; its expected values also truncate float32 where the spec and torch round to nearest even"),
        ("test_castlike_BFLOAT16_to_FLOAT", Bfloat16AsUInt16),
        ("test_castlike_BFLOAT16_to_FLOAT_expanded", Bfloat16AsUInt16),
        ("test_castlike_FLOAT_to_BFLOAT16", Bfloat16AsUInt16),
        ("test_castlike_FLOAT_to_BFLOAT16_expanded", Bfloat16AsUInt16),
        ("test_training_dropout", RandomDropout),
        ("test_training_dropout_default", RandomDropout),
        ("test_training_dropout_mask", RandomDropout),
        ("test_training_dropout_default_mask", RandomDropout),
    ];
}
