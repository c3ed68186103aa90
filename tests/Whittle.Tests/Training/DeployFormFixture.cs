using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;

namespace Whittle.Tests.Training;

/// <summary>The PyTorch CNN fixture in deploy form and random images for it: what BatchNorm re-insertion and QAT tests start from.</summary>
internal static class DeployFormFixture
{
    /// <summary>The PyTorch CNN fixture with its two BatchNorms folded into the convs, as torch.onnx.export does by default.</summary>
    public static OnnxModel Folded() => GraphPreparation.FoldBatchNorms(OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"))).Model;

    /// <summary><paramref name="count"/> random 1×28×28 images in [-0.5, 1.5) with labels cycling through 10 classes.</summary>
    public static TensorDataset Images(int count, int seed)
    {
        var random = new Random(seed);
        var x = new float[count * 784];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 0.5);
        return new TensorDataset(x, [1, 28, 28], Enumerable.Range(0, count).Select(i => i % 10).ToArray(), 10);
    }
}
