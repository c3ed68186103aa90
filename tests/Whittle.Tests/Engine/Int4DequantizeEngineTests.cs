using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Tests.Onnx;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine;

/// <summary>
/// The Engine runs int4/uint4 QDQ weights: 4-bit initializers load widened to int8/uint8, and
/// DequantizeLinear gives what ONNX Runtime gives on the same opset-21 models.
/// </summary>
[Collection(Training.TorchCollection.Name)]
public sealed class Int4DequantizeEngineTests
{
    public static TheoryData<string> Cases() => new(Int4QdqModels.All.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Engine_MatchesOnnxRuntime_OnInt4QdqWeights(string name)
    {
        var (model, _, input) = Int4QdqModels.All[name]();
        Assert.Empty(EnginePreflight.FindProblems(model));
        // Without ORT's fusions: its default rewrites DequantizeLinear(4-bit) + MatMul into a kernel
        // that computes differently (see OnnxTensorInt4Tests).
        var want = Int4QdqModels.RunOrt(model, new() { ["x"] = input }, GraphOptimization.Basic);

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        module.eval();
        var y = module.Run(tensor((float[])input.Data, input.Shape))[0];
        var got = TorchTensors.ToFloats(y);
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5 + 1e-5 * Math.Abs(want[i]), $"{name} element {i}: engine {got[i]}, ORT {want[i]}");
        // The 4-bit weights are constants (never trained), held as 8-bit integers of the same values.
        Assert.DoesNotContain("w.q", module.ParametersByInitializer.Keys);
    }

    [Fact]
    public void FourBitInitializersLoadWidenedToEightBits()
    {
        using var scope = NewDisposeScope();
        var s = TorchTensors.FromOnnx(OnnxTensor.FromInt4("s", [5], [-8, -1, 0, 3, 7]));
        Assert.Equal(ScalarType.Int8, s.dtype);
        Assert.Equal([-8L, -1, 0, 3, 7], TorchTensors.ToLongs(s));
        var u = TorchTensors.FromOnnx(OnnxTensor.FromUInt4("u", [1, 3], [0, 9, 15]));
        Assert.Equal(ScalarType.Byte, u.dtype);
        Assert.Equal(new long[] { 1, 3 }, u.shape);
        Assert.Equal([0L, 9, 15], TorchTensors.ToLongs(u));
        Assert.True(TorchTensors.IsLoadable(OnnxDataType.Int4));
        Assert.False(TorchTensors.IsSupported(OnnxDataType.Int4)); // not a graph input or Cast target type
    }
}
