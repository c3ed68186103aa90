using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>A float model made ready for quantization, and what was changed.</summary>
/// <param name="Model">Dropout/Identity removed, BatchNorm folded, opset ≥ 13.</param>
/// <param name="Changes">One line per change.</param>
/// <param name="Skipped">One line per candidate left alone, with the reason.</param>
public sealed record PreparedModel(OnnxModel Model, IReadOnlyList<string> Changes, IReadOnlyList<string> Skipped);

/// <summary>Everything static quantization produced: the model, the decisions and the ranges.</summary>
/// <param name="Prepared">The float model it started from (after preparation): the reference for verification.</param>
/// <param name="Quantized">The QDQ model.</param>
/// <param name="Marking">What was marked, node by node.</param>
/// <param name="Ranges">The calibrated range of every float value of the prepared model.</param>
public sealed record StaticQuantizationResult(PreparedModel Prepared, QdqModel Quantized, MarkingResult Marking, IReadOnlyDictionary<string, CalibratedRange> Ranges);

/// <summary>
/// Static int8 quantization in QDQ form: prepare (drop Dropout/Identity, fold BatchNorm, upgrade
/// to opset 13), mark with the per-op quantizers, calibrate in ONNX Runtime, rewrite.
/// </summary>
public static class StaticQuantizer
{
    /// <summary>Prepares a float model for quantization (the input is not modified).</summary>
    public static PreparedModel Prepare(OnnxModel model)
    {
        var (noDropout, r1) = GraphPreparation.RemoveIdentityAndDropout(model);
        var (folded, r2) = GraphPreparation.FoldBatchNorms(noDropout);
        var upgraded = OpsetUpgrade.To(folded, QdqRewriter.MinimumOpset);
        var changes = r1.Changed.Concat(r2.Changed).ToList();
        if (!ReferenceEquals(upgraded, folded)) changes.Add($"opset {folded.GetOpset()} → {QdqRewriter.MinimumOpset} (per-channel QuantizeLinear needs 13)");
        return new PreparedModel(upgraded, changes, r1.Skipped.Concat(r2.Skipped).ToList());
    }

    /// <summary>
    /// Calibrates every float value of the prepared model in one pass (so that any later choice
    /// of nodes to keep in float can reuse the ranges without another pass).
    /// </summary>
    public static IReadOnlyDictionary<string, CalibratedRange> Calibrate(PreparedModel prepared,
        IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches, StaticQuantizationOptions options,
        IProgress<int>? progress = null, RuntimeOptions? runtime = null)
    {
        var g = prepared.Model.Graph;
        var candidates = g.Inputs.Select(i => i.Name).Concat(IntermediateCapture.NodeOutputs(prepared.Model)).ToList();
        return ActivationCalibration.Run(prepared.Model, candidates, batches, options, progress, runtime);
    }

    /// <summary>Marks and rewrites with given ranges; <paramref name="floatNodes"/> stay in float.</summary>
    public static (QdqModel Model, MarkingResult Marking) Apply(PreparedModel prepared, IReadOnlyDictionary<string, CalibratedRange> ranges,
        StaticQuantizationOptions options, IReadOnlySet<string>? floatNodes = null)
    {
        var marking = QuantizationMarker.Mark(prepared.Model, options, floatNodes);
        var unknown = marking.ActivationsToCalibrate.Where(a => !ranges.ContainsKey(a)).ToList();
        if (unknown.Count > 0)
            throw new QuantizationException($"'{unknown[0]}' is marked for quantization but is not a float value calibration could observe");
        var model = QdqRewriter.Rewrite(prepared.Model, marking, ranges, options);
        var aligned = options.AlignConvChannels ? IntegerConvAlignment.Apply(model.Model) : [];
        if (aligned.Count > 0)
        {
            // A pair only the rewritten convolution read is gone; its activation is no longer readable as a dequantized value.
            var produced = model.Model.Graph.Nodes.SelectMany(n => n.Outputs).ToHashSet(StringComparer.Ordinal);
            model = model with
            {
                Dequantized = model.Dequantized.Where(kv => produced.Contains(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
                Aligned = aligned,
            };
        }
        model.Model.SetMetadata(QdqRewriter.MetadataKey,
            $"static {OnnxDataTypes.Name(options.ActivationType == QuantizationType.UInt8 ? OnnxDataType.UInt8 : OnnxDataType.Int8)} activations, " +
            $"{(options.WeightType == QuantizationType.Int4 ? options.Keep8Bit.Count > 0 ? $"int4 (int8: {string.Join(",", options.Keep8Bit)})" : "int4" : "int8")} {(options.PerChannel ? "per-channel" : "per-tensor")} weights, {options.CalibrationName} calibration" +
            (aligned.Count > 0 ? $"; aligned for ORT's int8 convolution kernel: {IntegerConvAlignment.Describe(aligned)}" : ""));
        return (model, marking);
    }

    /// <summary>The whole pipeline with every node eligible (no latency placement).</summary>
    public static StaticQuantizationResult Quantize(OnnxModel model, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> calibration,
        StaticQuantizationOptions options, IProgress<int>? progress = null)
    {
        var prepared = Prepare(model);
        var ranges = Calibrate(prepared, calibration, options, progress);
        var (quantized, marking) = Apply(prepared, ranges, options);
        return new StaticQuantizationResult(prepared, quantized, marking, ranges);
    }
}
