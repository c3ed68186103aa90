using Whittle.Runtime;

namespace Whittle.Tests.Runtime;

public class KernelShareTests
{
    [Theory]
    [InlineData("QLinearConv", KernelKind.Integer)]
    [InlineData("QLinearMatMul", KernelKind.Integer)]
    [InlineData("QLinearAdd", KernelKind.Integer)]
    [InlineData("QLinearGlobalAveragePool", KernelKind.Integer)]
    [InlineData("ConvInteger", KernelKind.Integer)]
    [InlineData("MatMulInteger", KernelKind.Integer)]
    [InlineData("DynamicQuantizeMatMul", KernelKind.Integer)]
    [InlineData("MatMulIntegerToFloat", KernelKind.Integer)]
    [InlineData("QGemm", KernelKind.Integer)]
    [InlineData("NhwcMaxPool", KernelKind.Integer)]
    [InlineData("QuantizeLinear", KernelKind.Conversion)]
    [InlineData("DequantizeLinear", KernelKind.Conversion)]
    [InlineData("DynamicQuantizeLinear", KernelKind.Conversion)]
    [InlineData("Transpose", KernelKind.Conversion)]
    [InlineData("ReorderInput", KernelKind.Conversion)]
    [InlineData("ReorderOutput", KernelKind.Conversion)]
    [InlineData("Reshape", KernelKind.Conversion)]
    [InlineData("Conv", KernelKind.Float)]
    [InlineData("FusedConv", KernelKind.Float)]
    [InlineData("Gemm", KernelKind.Float)]
    [InlineData("MaxPool", KernelKind.Float)]
    [InlineData("Relu", KernelKind.Float)]
    public void KernelsAreClassifiedByTheirOpName(string op, KernelKind kind)
    {
        Assert.Equal(kind, KernelShare.Classify(op));
    }

    [Fact]
    public void AProfileIsSummedByKindAndByOpType()
    {
        NodeTime[] profile =
        [
            new("conv2", "QLinearConv", 1.0),
            new("conv3", "QLinearConv", 0.5),
            new("conv1", "FusedConv", 0.25),
            new("t1", "Transpose", 0.125),
            new("t2", "Transpose", 0.125),
            new("q", "QuantizeLinear", 0.25),
            new("fc", "QGemm", 0.25),
            new("pool", "MaxPool", 0.5),
        ];
        var share = KernelShare.Of(profile);
        Assert.Equal(1.75, share.IntegerMs);
        Assert.Equal(0.5, share.ConversionMs);
        Assert.Equal(0.75, share.FloatMs);
        Assert.Equal(3.0, share.TotalMs);
        Assert.Equal(1.75 / 3.0, share.IntegerShare);
        Assert.Equal(0.25, share.FloatShare);
        Assert.Equal(
            [("QLinearConv", KernelKind.Integer, 1.5), ("MaxPool", KernelKind.Float, 0.5), ("FusedConv", KernelKind.Float, 0.25), ("QGemm", KernelKind.Integer, 0.25),
             ("QuantizeLinear", KernelKind.Conversion, 0.25), ("Transpose", KernelKind.Conversion, 0.25)],
            share.ByOpType.Select(o => (o.OpType, o.Kind, o.Ms)).ToArray());
    }

    [Fact]
    public void AnEmptyProfileHasNoShares()
    {
        var share = KernelShare.Of([]);
        Assert.Equal(0, share.TotalMs);
        Assert.Equal(0, share.IntegerShare);
        Assert.Empty(share.ByOpType);
    }
}
