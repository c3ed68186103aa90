using Google.Protobuf;
using Whittle.Onnx;
using Whittle.Onnx.Proto;

namespace Whittle.Tests.Onnx;

public class OnnxModelTests
{
    /// <summary>x -> Conv(w, b) -> Relu -> y, opset 13.</summary>
    internal static OnnxModel TinyConvModel()
    {
        var m = OnnxModel.Create("tiny", 13);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(null, "batch"), new OnnxDim(1, null), new OnnxDim(4, null), new OnnxDim(4, null)]));
        g.AddInitializer(OnnxTensor.FromFloats("w", [2, 1, 3, 3], Enumerable.Range(0, 18).Select(i => i % 3 == 0 ? 0f : i * 0.1f).ToArray()));
        g.AddInitializer(OnnxTensor.FromFloats("b", [2], [0.5f, -0.5f]));
        var conv = new OnnxNode("Conv", ["x", "w", "b"], ["c"], "conv");
        conv.SetAttribute("pads", new long[] { 1, 1, 1, 1 });
        g.AddNode(conv);
        g.AddNode(new OnnxNode("Relu", ["c"], ["y"], "relu"));
        g.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
        return m;
    }

    [Fact]
    public void LoadsFromFileStreamAndBytesAlike()
    {
        var m = TinyConvModel();
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, "tiny.onnx");
        m.Save(path);
        var fromFile = OnnxModel.Load(path);
        using var fs = File.OpenRead(path);
        var fromStream = OnnxModel.Load(fs);
        var fromBytes = OnnxModel.Load(File.ReadAllBytes(path));
        Assert.Equal(m.ToBytes(), fromFile.ToBytes());
        Assert.Equal(m.ToBytes(), fromStream.ToBytes());
        Assert.Equal(m.ToBytes(), fromBytes.ToBytes());
        Assert.Equal(Path.GetFullPath(path), fromFile.SourcePath);
        Assert.Equal(13, fromFile.GetOpset());
        Assert.Null(fromFile.GetOpset("com.microsoft"));
    }

    [Fact]
    public void ReportsGraphFacts()
    {
        var m = TinyConvModel();
        Assert.Equal(["x"], m.Graph.Inputs.Select(i => i.Name));
        Assert.Equal("float32[batch,1,4,4]", m.Graph.Inputs[0].TypeDescription);
        Assert.Equal(new Dictionary<string, int> { ["Conv"] = 1, ["Relu"] = 1 }, m.Graph.OpHistogram());
        Assert.Equal("conv", m.Graph.FindProducer("c")!.Name);
        Assert.Equal(["relu"], m.Graph.FindConsumers("c").Select(n => n.Name));
        var conv = m.Graph.FindNode("conv")!;
        Assert.Equal(new long[] { 1, 1, 1, 1 }, conv.GetInts("pads"));
        Assert.Equal(1, conv.GetInt("group", 1));
        Assert.False(conv.HasAttribute("group"));
        var e = Assert.Throws<OnnxException>(() => conv.GetFloat("pads"));
        Assert.Contains("attribute 'pads' is Ints, expected Float", e.Message);
    }

    [Theory]
    [InlineData(new byte[0], "file is empty")]
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x31, 0x7D }, "not")] // {"a":1}
    public void RejectsNonOnnxBytes(byte[] bytes, string expected)
    {
        var e = Assert.Throws<OnnxException>(() => OnnxModel.Load(bytes));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void NamesTheFileAndTheProblemForTruncatedAndMissingFiles()
    {
        var dir = TestPaths.TempDir();
        var full = TinyConvModel().ToBytes();
        var path = Path.Combine(dir, "cut.onnx");
        File.WriteAllBytes(path, full[..(full.Length - 7)]);
        var e = Assert.Throws<OnnxException>(() => OnnxModel.Load(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        var missing = Path.Combine(dir, "nope.onnx");
        e = Assert.Throws<OnnxException>(() => OnnxModel.Load(missing));
        Assert.Equal($"{missing}: file not found", e.Message);

        var text = Path.Combine(dir, "text.onnx");
        File.WriteAllText(text, "this is not a model at all\n");
        e = Assert.Throws<OnnxException>(() => OnnxModel.Load(text));
        Assert.StartsWith(text + ": not", e.Message);
    }

    [Fact]
    public void TensorsReadEveryStorageForm()
    {
        // Typed fields.
        var typed = new OnnxTensor(new TensorProto { Name = "f", DataType = (int)OnnxDataType.Float, Dims = { 2 }, FloatData = { 1.5f, -2f } });
        Assert.Equal(new[] { 1.5f, -2f }, typed.ToFloatArray());
        Assert.Equal(new byte[] { 0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0 }, typed.ToRawBytes());
        var ints = new OnnxTensor(new TensorProto { Name = "i", DataType = (int)OnnxDataType.Int64, Dims = { 3 }, Int64Data = { 1, -2, 3 } });
        Assert.Equal(new long[] { 1, -2, 3 }, ints.ToInt64Array());
        var int8 = new OnnxTensor(new TensorProto { Name = "q", DataType = (int)OnnxDataType.Int8, Dims = { 2 }, Int32Data = { -128, 127 } });
        Assert.Equal(new long[] { -128, 127 }, int8.ToInt64Array());
        // Raw data.
        var raw = OnnxTensor.FromInt32s("r", [2, 2], [1, 0, -3, 4]);
        Assert.Equal(new[] { 1, 0, -3, 4 }, raw.ToInt32Array());
        Assert.Equal(3, raw.CountNonZero());
        var u8 = OnnxTensor.FromBytes("u", OnnxDataType.UInt8, [3], [0, 7, 255]);
        Assert.Equal(new long[] { 0, 7, 255 }, u8.ToInt64Array());
        var i4 = OnnxTensor.FromBytes("n", OnnxDataType.Int4, [3], [0xF1, 0x07]); // 1, -1, 7
        Assert.Equal(new long[] { 1, -1, 7 }, i4.ToInt64Array());
        // A shape that does not match the data is an error, not a silent misread.
        var bad = new OnnxTensor(new TensorProto { Name = "bad", DataType = (int)OnnxDataType.Float, Dims = { 3 }, RawData = ByteString.CopyFrom(new byte[8]) });
        var e = Assert.Throws<OnnxException>(() => bad.ToFloatArray());
        Assert.Contains("tensor 'bad'", e.Message);
    }

    [Fact]
    public void ExternalDataIsReadRelativeToTheModel()
    {
        var dir = TestPaths.TempDir();
        var weights = new float[] { 1, 2, 3, 4, 5, 6 };
        var bytes = new byte[8 + 24];
        Buffer.BlockCopy(weights, 0, bytes, 8, 24);
        File.WriteAllBytes(Path.Combine(dir, "weights.bin"), bytes);
        var m = OnnxModel.Create("g", 13);
        var proto = new TensorProto { Name = "w", DataType = (int)OnnxDataType.Float, Dims = { 2, 3 }, DataLocation = TensorProto.Types.DataLocation.External };
        proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "8" });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "24" });
        m.Proto.Graph.Initializer.Add(proto);
        var path = Path.Combine(dir, "m.onnx");
        // Written as it is: Save would make the file self-contained (see ExternalDataTests).
        File.WriteAllBytes(path, m.Proto.ToByteArray());
        var loaded = OnnxModel.Load(path);
        var w = loaded.Graph.FindInitializer("w")!;
        Assert.True(w.IsExternal);
        Assert.Equal(weights, w.ToFloatArray());

        proto.ExternalData[0].Value = "../escape.bin";
        var e = Assert.Throws<OnnxException>(() => new OnnxTensor(proto, dir).ToFloatArray());
        Assert.Contains("relative path inside", e.Message);
    }

    [Fact]
    public void GraphEditsKeepTheGraphValid()
    {
        var m = TinyConvModel();
        var g = m.Graph;
        // Insert a Sigmoid between Relu and the output, then rename and replace.
        g.RenameValue("y", "r");
        g.AddNode(new OnnxNode("Sigmoid", ["r"], ["y"], "sig"));
        g.RemoveOutput("r");
        g.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
        Assert.True(m.Validate().IsValid, string.Join("; ", m.Validate().Errors));
        g.ReplaceNode(g.FindNode("sig")!, new OnnxNode("Tanh", ["r"], ["y"], "tanh"));
        Assert.Equal(["Conv", "Relu", "Tanh"], g.Nodes.Select(n => n.OpType));
        g.ReplaceInitializer(OnnxTensor.FromFloats("b", [2], [0f, 0f]));
        Assert.Equal(new[] { 0f, 0f }, g.FindInitializer("b")!.ToFloatArray());
        Assert.Throws<OnnxException>(() => g.AddInitializer(OnnxTensor.FromFloats("b", [1], [1f])));
        g.AddOutput("c");
        Assert.Equal(["y", "c"], g.Outputs.Select(o => o.Name));
        Assert.Equal("c_1", g.UniqueName("c"));
        // Removing a node leaves a dangling input that validation names precisely.
        g.RemoveNode(g.FindNode("relu")!);
        var result = m.Validate();
        Assert.Contains("node 'tanh' reads 'r', which no node, input or initializer defines", result.Errors);
    }

    [Fact]
    public void ValidationReportsDuplicatesCyclesAndMissingOutputsAllAtOnce()
    {
        var m = OnnxModel.Create("bad", 13);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, null));
        g.AddNode(new OnnxNode("Add", ["x", "b"], ["a"], "add1"));
        g.AddNode(new OnnxNode("Relu", ["a"], ["b"], "relu1"));   // cycle a -> b -> a
        g.AddNode(new OnnxNode("Relu", ["x"], ["a"], "dup"));     // 'a' defined twice
        g.AddNode(new OnnxNode("Foo", ["x"], ["f"], "foo", "com.example")); // domain not imported
        g.AddOutput(new OnnxValueInfo("nowhere", OnnxDataType.Float, null));
        var r = m.Validate();
        Assert.Contains(r.Errors, e => e.Contains("value 'a' is produced by node 'dup'"));
        Assert.Contains(r.Errors, e => e.Contains("cycle"));
        Assert.Contains(r.Errors, e => e.Contains("domain 'com.example'"));
        Assert.Contains(r.Errors, e => e.Contains("graph output 'nowhere'"));
        var ex = Assert.Throws<OnnxException>(() => r.ThrowIfInvalid("bad.onnx"));
        Assert.StartsWith("bad.onnx: invalid ONNX graph (4 errors)", ex.Message);
    }

    [Fact]
    public void TopologicalOrderIsStableAndSortsUnorderedGraphs()
    {
        var m = OnnxModel.Create("g", 13);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, null));
        g.AddNode(new OnnxNode("Relu", ["b"], ["c"], "third"));
        g.AddNode(new OnnxNode("Relu", ["x"], ["a"], "first"));
        g.AddNode(new OnnxNode("Relu", ["a"], ["b"], "second"));
        g.AddNode(new OnnxNode("Relu", ["x"], ["d"], "independent"));
        g.AddOutput(new OnnxValueInfo("c", OnnxDataType.Float, null));
        Assert.Equal(["first", "second", "third", "independent"], g.TopologicalOrder().Select(n => n.Name));
        Assert.Contains(m.Validate().Warnings, w => w.Contains("topological"));
        g.SortTopologically();
        Assert.Empty(m.Validate().Warnings);
    }
}
