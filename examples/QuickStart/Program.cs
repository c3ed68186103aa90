// QuickStart: evaluate an ONNX classifier in ONNX Runtime, fine-tune it a little with the
// Engine (TorchSharp), write the weights back into the ONNX graph and evaluate again.
//
//   dotnet run -- MODEL.onnx FASHION_MNIST_DIR
//   e.g. dotnet run -- ../../tests/fixtures/models/fmnist_classifier.onnx ../../data/fashion-mnist-mini
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: QuickStart MODEL.onnx FASHION_MNIST_DIR (a folder with the four IDX files, e.g. data/fashion-mnist-mini)");
    return 2;
}
string modelPath = args[0], dataDir = args[1];

var preprocessing = FashionMnist.StandardPreprocessing();
var train = FashionMnist.LoadBundledSubset(DatasetSplit.Train, dataDir, preprocessing).Dataset;
var test = FashionMnist.LoadBundledSubset(DatasetSplit.Test, dataDir, preprocessing).Dataset;
var model = OnnxModel.Load(modelPath);

double before = Accuracy(model, test);
Console.WriteLine($"before: test accuracy {before:P2} on {test.Count} images (ONNX Runtime)");

// Fine-tune: one epoch over 2,000 training images at a small learning rate.
var (part, validation) = train.Take(2000).Split(0.1, seed: 0);
OnnxModel tuned;
using (var scope = NewDisposeScope())
{
    using var module = new OnnxModule(model);
    var trainer = new Trainer(module, new TrainerOptions(epochs: 1, batchSize: 64, optimizer: new AdamWOptions(1e-4)));
    var result = trainer.Fit(part, validation);
    var epoch = result.History[^1];
    Console.WriteLine($"fine-tuned with TorchSharp ({__version__}): {part.Count} images, loss {epoch.TrainingLoss:0.0000}, validation accuracy {epoch.ValidationAccuracy:P2}");
    module.eval();
    tuned = module.ToOnnx();
}

double after = Accuracy(tuned, test);
Console.WriteLine($"after:  test accuracy {after:P2} ({(after - before) * 100:+0.00;-0.00;0.00} pt)");
return double.IsFinite(after) ? 0 : 1;

static double Accuracy(OnnxModel model, TensorDataset data)
{
    using var session = new OnnxRuntimeSession(model);
    var scores = session.RunBatches(data.Features, data.SampleShape.ToArray(), 256);
    int classes = (int)scores.Shape[1];
    var predicted = ClassScores.Argmax(scores.AsFloats(), classes);
    return ClassificationReport.FromPredictions(data.Labels.Span, predicted, classes).Accuracy;
}
