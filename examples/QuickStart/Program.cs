// QuickStart: load -> evaluate -> prune with fine-tuning -> quantize -> save, with the numbers before and after.
//   dotnet run -- MODEL.onnx FASHION_MNIST_DIR   (e.g. tests/fixtures/models/fmnist_classifier.onnx data/fashion-mnist-mini)
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Quantization;

if (args.Length != 2) { Console.Error.WriteLine("usage: QuickStart MODEL.onnx FASHION_MNIST_DIR"); return 2; }
var model = OnnxModel.Load(args[0]);
var data = ModelData.Bind(model, "idx:" + args[1], new DataOptions(mean: [0.2860f], std: [0.3530f]));
var before = ModelEvaluator.Evaluate(model, data).Classification!;

// Remove 25% of the channels, fine-tuning one epoch with the Engine (TorchSharp), then static int8.
var pruned = ModelPruner.Prune(model, data, new ModelPruningOptions(channel: new ChannelPruningOptions(0.25), fineTuneEpochs: 1, clipNorm: 2));
var quantized = ModelQuantizer.Quantize(pruned.Model!, data, new ModelQuantizationOptions(objective: QuantizationObjective.Size));
var output = Path.Combine(Path.GetTempPath(), "quickstart-small.onnx");
quantized.Save(output);

var after = ModelEvaluator.Evaluate(OnnxModel.Load(output), data).Classification!;
Console.WriteLine($"accuracy  {before.Accuracy:P2} -> {after.Accuracy:P2} ({(after.Accuracy - before.Accuracy) * 100:+0.00;-0.00} pt), macro-F1 {before.MacroF1:0.0000} -> {after.MacroF1:0.0000}");
Console.WriteLine($"parameters {pruned.ParametersBefore:N0} -> {pruned.ParametersAfter:N0}, file {pruned.BytesBefore:N0} -> {new FileInfo(output).Length:N0} bytes");
Console.WriteLine($"wrote {output}");
return after.Accuracy > 0.5 ? 0 : 1;
