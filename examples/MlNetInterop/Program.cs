// MlNetInterop: a model Whittle produced (BatchNorm folded, then dynamic int8 quantization)
// runs unchanged in ML.NET's ApplyOnnxModel, and its scores agree with Whittle's own ONNX
// Runtime session on the Fashion-MNIST test images. Exits 1 when they do not.
//
//   dotnet run -- MODEL.onnx FASHION_MNIST_DIR
//   e.g. dotnet run -- ../../tests/fixtures/models/fmnist_classifier.onnx ../../data/fashion-mnist-mini
using Microsoft.ML;
using Microsoft.ML.Data;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: MlNetInterop MODEL.onnx FASHION_MNIST_DIR (a folder with the four IDX files, e.g. data/fashion-mnist-mini)");
    return 2;
}
string modelPath = args[0], dataDir = args[1];

// The Whittle output model: written to a temporary file (the input file is never touched).
var source = OnnxModel.Load(modelPath);
var (folded, folding) = GraphPreparation.FoldBatchNorms(source);
var (quantized, quantization) = DynamicQuantizer.Quantize(folded);
string outputPath = Path.Combine(Path.GetTempPath(), $"whittle-mlnet-{Environment.ProcessId}.onnx");
quantized.Save(outputPath);
Console.WriteLine($"Whittle: folded {folding.Changed.Count} BatchNorm(s), quantized {quantization.QuantizedCount} node(s) to int8 -> {outputPath}");

var test = FashionMnist.LoadBundledSubset(DatasetSplit.Test, dataDir, FashionMnist.StandardPreprocessing()).Dataset;
int n = test.Count, size = test.SampleSize;
string inputName = source.Graph.Inputs[0].Name, outputName = source.Graph.Outputs[0].Name;

try
{
    // ONNX Runtime through Whittle, one image per run as ML.NET does (dynamic quantization
    // takes its activation scale from the whole batch, so the batch size must match).
    float[] ort;
    using (var session = new OnnxRuntimeSession(quantized))
        ort = session.RunBatches(test.Features, test.SampleShape.ToArray(), batchSize: 1).AsFloats().ToArray();
    int classes = ort.Length / n;

    // One ONNX Runtime for both: ML.NET's OnnxTransformer asks for Microsoft.ML.OnnxRuntime.Managed
    // 1.23.2 or later, Whittle brings 1.31.x; the managed API and the native library must match.
    string native = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
    var managed = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version!;
    Console.WriteLine($"ONNX Runtime: managed {managed.ToString(3)}, native {native}");
    if (!native.StartsWith($"{managed.Major}.{managed.Minor}.", StringComparison.Ordinal))
    {
        Console.Error.WriteLine("FAIL: the managed ONNX Runtime and the native library differ");
        return 1;
    }

    // ML.NET: the same file through ApplyOnnxModel.
    var ml = new MLContext(seed: 0);
    var rows = Enumerable.Range(0, n).Select(i => new Image { Pixels = test.GetFeatures(i).ToArray() });
    var schema = SchemaDefinition.Create(typeof(Image));
    schema[0].ColumnName = inputName;
    schema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
    var data = ml.Data.LoadFromEnumerable(rows, schema);
    var pipeline = ml.Transforms.ApplyOnnxModel(outputColumnName: outputName, inputColumnName: inputName, modelFile: outputPath);
    var scored = pipeline.Fit(data).Transform(data);
    var mlnet = scored.GetColumn<float[]>(outputName).SelectMany(row => row).ToArray();

    if (mlnet.Length != ort.Length)
    {
        Console.Error.WriteLine($"FAIL: ML.NET returned {mlnet.Length} scores, ONNX Runtime {ort.Length}");
        return 1;
    }
    var ortPredicted = ClassScores.Argmax(ort, classes);
    var mlnetPredicted = ClassScores.Argmax(mlnet, classes);
    int agree = ortPredicted.Zip(mlnetPredicted).Count(p => p.First == p.Second);
    double maxDiff = ort.Zip(mlnet).Max(p => (double)Math.Abs(p.First - p.Second));
    double accuracy = ClassificationReport.FromPredictions(test.Labels.Span, mlnetPredicted, classes).Accuracy;

    Console.WriteLine($"ML.NET ApplyOnnxModel vs ONNX Runtime: predictions agree on {agree}/{n} images, max |Δ| score {maxDiff:G3}");
    Console.WriteLine($"test accuracy of the int8 model in ML.NET: {accuracy:P2}");
    const double tolerance = 1e-4;
    if (agree != n || !(maxDiff <= tolerance))
    {
        Console.Error.WriteLine($"FAIL: ML.NET and ONNX Runtime disagree (tolerance {tolerance:G})");
        return 1;
    }
    Console.WriteLine("OK: ML.NET runs the Whittle output model and agrees with ONNX Runtime");
    return 0;
}
finally
{
    File.Delete(outputPath);
}

/// <summary>One Fashion-MNIST image as an ML.NET row (the column is renamed to the model's input).</summary>
internal sealed class Image
{
    public float[] Pixels { get; set; } = [];
}
