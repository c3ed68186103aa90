using Whittle.Engine.Converters;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Quantization;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>
/// Gives a deploy-form model its BatchNorms back for training. Exporters fold every BatchNorm into
/// the Conv or Gemm before it (<c>torch.onnx.export</c>'s constant folding, tf2onnx, most
/// converters), and without them nothing re-normalizes the activations while a pruned or
/// quantized model is fine-tuned: recovery training on such models diverges or collapses.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Insert"/> puts a BatchNormalization after every Conv and Gemm whose output does not
/// already go into one, initialized from that output's statistics on calibration data: running
/// mean μ and variance σ², scale γ = √(σ² + ε) and bias β = μ. In eval mode the inserted node is
/// then exactly the identity, and in training mode (batch statistics) it is the identity up to
/// the difference between a batch's statistics and the calibration ones, so training starts from
/// the model's own function. A model that scores at chance on the calibration data (freshly
/// initialized, then exported) starts instead as PyTorch's BatchNorm does, γ = 1 and β = 0
/// (<see cref="BatchNormInit"/>), so it trains as the same network with its BatchNorms would.
/// Layers whose output is a graph output, or reaches one through
/// nothing but shape and softmax operators (the classifier's logits), are left alone: normalizing
/// logits changes what the loss sees.
/// </para>
/// <para>
/// <see cref="FoldBack"/> folds exactly the inserted nodes into their layers again (running
/// statistics, as <see cref="GraphPreparation.FoldBatchNorms(OnnxModel)"/> does), so the trained
/// model has the same operators as the input. Zeros of a pruned weight stay zeros: folding scales
/// each output channel.
/// </para>
/// </remarks>
public static class BatchNormReinsertion
{
    /// <summary>An untrained model scores at most this multiple of chance (1 / classes) on the calibration samples.</summary>
    public const double UntrainedAccuracyFactor = 1.5;

    /// <summary>The ε of the inserted nodes (PyTorch's default).</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>ONNX's momentum of the inserted nodes: running = 0.9·running + 0.1·batch (PyTorch's momentum 0.1).</summary>
    public const float Momentum = 0.9f;

    /// <summary>The default number of calibration samples the initial statistics come from.</summary>
    public const int DefaultCalibrationSamples = 1024;

    /// <summary>The metadata key under which <see cref="Insert"/> lists the inserted node names (comma-separated).</summary>
    public const string MetadataKey = "whittle.reinserted_batchnorms";

    private const string NodePrefix = "whittle_bn/";

    private static readonly HashSet<string> PassThrough = new(StringComparer.Ordinal)
    {
        "Softmax", "LogSoftmax", "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout", "Transpose", "Cast",
    };

    /// <summary>
    /// Whether jobs re-insert BatchNorms for training on <paramref name="data"/> (null: no data):
    /// classifiers of images and tensors. Not ranking models (embeddings), and not text models:
    /// TextCNN on fortunes with the text defaults trained to test macro-F1 0.5817 with its
    /// convolutions' BatchNorms re-inserted against 0.6372 without (docs/distillation.md).
    /// </summary>
    public static bool Suits(BoundData? data) => data is null || (data.Task == ModelTask.Classification && data.Vocabulary is null);

    /// <summary>
    /// The layers <see cref="Insert"/> would give a BatchNorm: the node names of every Conv and
    /// Gemm (float initializer weight) whose output goes into no BatchNormalization and is not
    /// (or leads through shape and softmax operators only to) a graph output.
    /// </summary>
    public static IReadOnlyList<string> Candidates(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return CandidateNodes(model.Graph).Select(n => n.DisplayName).ToList();
    }

    /// <summary>
    /// With targets, a node's output distribution differs from the one the statistics of the nodes
    /// after it were measured on: their running statistics are measured again in graph order, each
    /// with every node before it already in place, so evaluation mode starts matched too.
    /// </summary>
    private static void RefreshRunningStatistics(OnnxModel model, IReadOnlyList<string> inserted, TensorDataset calibration, int samples, OpRegistry? registry)
    {
        var g = model.Graph;
        foreach (var name in inserted)
        {
            var bn = g.Nodes.Single(n => n.Name == name);
            var (statistics, _) = OutputStatistics(model, [bn.Inputs[0]], calibration, samples, registry);
            var (mean, variance) = statistics[bn.Inputs[0]];
            g.ReplaceInitializer(OnnxTensor.FromFloats(bn.Inputs[3], [mean.Length], mean));
            g.ReplaceInitializer(OnnxTensor.FromFloats(bn.Inputs[4], [variance.Length], variance));
        }
    }

    /// <summary>
    /// The per-channel mean and variance of the output of every layer of <see cref="Candidates"/>
    /// (display name) on the first <paramref name="samples"/> of a seeded shuffle of
    /// <paramref name="calibration"/>: the targets of <see cref="Insert"/> when the model is compressed afterwards.
    /// </summary>
    public static IReadOnlyDictionary<string, (float[] Mean, float[] Variance)> LayerStatistics(OnnxModel model, TensorDataset calibration,
        int samples = DefaultCalibrationSamples, OpRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        var layers = CandidateNodes(model.Graph);
        if (layers.Count == 0) return new Dictionary<string, (float[], float[])>(StringComparer.Ordinal);
        var (statistics, _) = OutputStatistics(model, layers.Select(l => l.Outputs[0]).ToList(), calibration, samples, registry);
        return layers.ToDictionary(l => l.DisplayName, l => statistics[l.Outputs[0]], StringComparer.Ordinal);
    }

    private static List<OnnxNode> CandidateNodes(OnnxGraph g)
    {
        var outputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var result = new List<OnnxNode>();
        foreach (var node in g.Nodes)
        {
            if (node.Domain.Length != 0 || node.OpType is not ("Conv" or "Gemm") || node.Outputs.Count != 1) continue;
            if (node.Inputs.Count < 2 || TrainedWeight(g, node.Inputs[1]) is not { DataType: OnnxDataType.Float }) continue;
            if (node.OpType == "Gemm" && node.GetInt("transA", 0) != 0) continue;
            var consumers = g.FindConsumers(node.Outputs[0]);
            if (consumers.Any(c => c.OpType == "BatchNormalization")) continue;
            if (LeadsOnlyToOutputs(g, node.Outputs[0], outputs)) continue;
            result.Add(node);
        }
        return result;
    }

    /// <summary>
    /// A copy of <paramref name="model"/> with a BatchNormalization after every layer of
    /// <see cref="Candidates"/>, initialized from statistics on <paramref name="calibration"/> so
    /// that it starts as the identity. Returns the model unchanged (a copy) when there is no candidate.
    /// </summary>
    /// <param name="model">The model (not modified).</param>
    /// <param name="calibration">Samples shaped as the model's input; the first <paramref name="samples"/> of a seeded shuffle are used.</param>
    /// <param name="samples">How many calibration samples; at least 2.</param>
    /// <param name="registry">The Engine's converters, or null for the default ones.</param>
    /// <param name="init">How the inserted nodes start: the identity (a trained model keeps its function), PyTorch's fresh BatchNorm (γ = 1, β = 0: an untrained model trains as PyTorch trains it), or automatically (the identity unless the model scores at chance on the labelled calibration samples).</param>
    /// <param name="targets">
    /// Per layer (display name), the per-channel mean and variance its output should have: the
    /// statistics of the same channels in the model before compression. A layer found here starts
    /// with γ = √(σ²_target + ε), β = μ_target (over this model's running statistics), so the
    /// inserted node maps each kept channel's shifted distribution back onto the one the uncompressed
    /// model had (distribution-matched recovery, as adaptive BatchNorm recalibration does for pruned
    /// candidates); other layers start as <paramref name="init"/> says. Null for none.
    /// </param>
    public static ReinsertedModel Insert(OnnxModel model, TensorDataset calibration, int samples = DefaultCalibrationSamples, OpRegistry? registry = null,
        BatchNormInit init = BatchNormInit.Auto, IReadOnlyDictionary<string, (float[] Mean, float[] Variance)>? targets = null)
    {
        OptionChecks.Defined(init, nameof(init));
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        OptionChecks.AtLeast(samples, 2, nameof(samples));
        var copy = model.Clone();
        var layers = CandidateNodes(copy.Graph);
        if (layers.Count == 0) return new ReinsertedModel(copy, [], BatchNormInit.Identity);
        if (calibration.Count < 2) throw new InvalidOptionException("data", $"BatchNorm re-insertion needs at least 2 calibration samples, got {calibration.Count}");

        var (statistics, accuracy) = OutputStatistics(model, layers.Select(l => l.Outputs[0]).ToList(), calibration, samples, registry);
        if (init == BatchNormInit.Auto)
            init = accuracy is { } a && calibration.ClassCount > 1 && a <= UntrainedAccuracyFactor / calibration.ClassCount ? BatchNormInit.Standard : BatchNormInit.Identity;
        var g = copy.Graph;
        var inserted = new List<string>();
        foreach (var layer in layers)
        {
            string output = layer.Outputs[0];
            var (mean, variance) = statistics[output];
            string pre = g.UniqueName(output + "_before_bn");
            string Init(string suffix, float[] values)
            {
                var name = g.UniqueName($"{output}_whittle_bn_{suffix}");
                g.AddInitializer(OnnxTensor.FromFloats(name, [values.Length], values));
                return name;
            }
            var scale = init == BatchNormInit.Standard ? Enumerable.Repeat(1f, mean.Length).ToArray() : variance.Select(v => MathF.Sqrt(v + Epsilon)).ToArray();
            var bias = init == BatchNormInit.Standard ? new float[mean.Length] : mean;
            if (targets is not null && targets.TryGetValue(layer.DisplayName, out var target))
            {
                if (target.Mean.Length != mean.Length || target.Variance.Length != mean.Length)
                    throw new ArgumentException($"target statistics of '{layer.DisplayName}' have {target.Mean.Length} channel(s), its output has {mean.Length}", nameof(targets));
                scale = target.Variance.Select(v => MathF.Sqrt(v + Epsilon)).ToArray();
                bias = target.Mean;
            }
            var bn = new OnnxNode("BatchNormalization",
                [pre, Init("scale", scale), Init("bias", bias), Init("mean", mean), Init("var", variance)], [output],
                name: g.UniqueName(NodePrefix + layer.DisplayName));
            bn.SetAttribute("epsilon", Epsilon);
            bn.SetAttribute("momentum", Momentum);
            layer.Outputs[0] = pre;
            g.InsertNode(g.IndexOf(layer) + 1, bn);
            inserted.Add(bn.Name);
        }
        if (targets is { Count: > 0 }) RefreshRunningStatistics(copy, inserted, calibration, samples, registry);
        copy.SetMetadata(MetadataKey, string.Join(",", inserted));
        return new ReinsertedModel(copy, inserted, init);
    }

    /// <summary>
    /// Folds the nodes <see cref="Insert"/> added back into their layers (with their running
    /// statistics), so the model has the operators it had before insertion. Other BatchNorms are
    /// left as they are.
    /// </summary>
    /// <param name="trained">The trained model with the inserted nodes.</param>
    /// <param name="insertedNodes">Their names (<see cref="ReinsertedModel.InsertedNodes"/>).</param>
    /// <exception cref="EngineException">An inserted node could not be folded (the graph was changed in between).</exception>
    public static OnnxModel FoldBack(OnnxModel trained, IReadOnlyCollection<string> insertedNodes)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(insertedNodes);
        if (insertedNodes.Count == 0) return trained.Clone();
        var names = insertedNodes.ToHashSet(StringComparer.Ordinal);
        var (folded, report) = GraphPreparation.FoldBatchNorms(trained, n => names.Contains(n.Name));
        var left = folded.Graph.Nodes.Where(n => names.Contains(n.Name)).ToList();
        if (left.Count > 0)
            throw new EngineException($"could not fold the re-inserted BatchNorm(s) back: {string.Join("; ", report.Skipped)}");
        folded.RemoveMetadata(MetadataKey);
        return folded;
    }

    /// <summary>The float initializer a layer's weight is: the input itself, or the one behind a quantization-aware training fake-quant node.</summary>
    private static OnnxTensor? TrainedWeight(OnnxGraph g, string input) =>
        g.FindInitializer(input) ?? (g.FindProducer(input) is { Domain: FakeQuantizeConverter.Domain, OpType: "FakeQuantize" } fq ? g.FindInitializer(fq.Inputs[0]) : null);

    private static bool LeadsOnlyToOutputs(OnnxGraph g, string value, HashSet<string> outputs)
    {
        if (outputs.Contains(value)) return true;
        var consumers = g.FindConsumers(value);
        if (consumers.Count == 0) return false;
        return consumers.All(c => c.Domain.Length == 0 && PassThrough.Contains(c.OpType) && c.Outputs.Count > 0 && LeadsOnlyToOutputs(g, c.Outputs[0], outputs));
    }

    /// <summary>Per-channel (axis 1) mean and population variance of each value over the calibration samples, in the Engine.</summary>
    private static (Dictionary<string, (float[] Mean, float[] Variance)> Statistics, double? Accuracy) OutputStatistics(OnnxModel model, IReadOnlyList<string> layerOutputs,
        TensorDataset calibration, int samples, OpRegistry? registry)
    {
        // The graph's output too, so the same pass tells whether the model has been trained.
        var logits = model.Graph.Outputs[0].Name;
        var values = layerOutputs.Append(logits).ToList();
        long correct = 0, seen = 0;
        var data = calibration.Count > samples ? calibration.Shuffle(0).Take(samples) : calibration;
        var sums = new Dictionary<string, (double[] Sum, double[] Squares, long Count)>(StringComparer.Ordinal);
        using var module = new OnnxModule(model, registry);
        module.eval();
        using var noGrad = no_grad();
        var inputType = model.Graph.Inputs[0].ElementType;
        foreach (var batch in data.Batches(256))
        {
            using var scope = NewDisposeScope();
            Tensor x = Trainer.FeatureTensor(batch, CPU);
            if (inputType is OnnxDataType.Int64) x = x.to_type(ScalarType.Int64);
            else if (inputType is OnnxDataType.Int32) x = x.to_type(ScalarType.Int32);
            var results = module.Run([x], values);
            if (calibration.HasLabels && results[^1] is { Dimensions: 2 } scores && scores.shape[1] == calibration.ClassCount)
            {
                var predicted = scores.argmax(1).data<long>().ToArray();
                for (int i = 0; i < predicted.Length; i++) correct += predicted[i] == batch.Labels[i] ? 1 : 0;
                seen += predicted.Length;
            }
            for (int i = 0; i < layerOutputs.Count; i++)
            {
                var t = results[i].to_type(ScalarType.Float64);
                if (t.Dimensions < 2) throw new EngineException($"'{values[i]}' has {t.Dimensions} dimension(s); BatchNorm re-insertion needs [batch, channels, ...]");
                var dims = Enumerable.Range(0, (int)t.Dimensions).Where(d => d != 1).Select(d => (long)d).ToArray();
                long count = t.numel() / t.shape[1];
                double[] sum = t.sum(dims).data<double>().ToArray();
                double[] squares = t.mul(t).sum(dims).data<double>().ToArray();
                if (!sums.TryGetValue(values[i], out var acc)) acc = (new double[sum.Length], new double[sum.Length], 0);
                for (int c = 0; c < sum.Length; c++)
                {
                    acc.Sum[c] += sum[c];
                    acc.Squares[c] += squares[c];
                }
                sums[values[i]] = (acc.Sum, acc.Squares, acc.Count + count);
            }
        }
        var result = new Dictionary<string, (float[], float[])>(StringComparer.Ordinal);
        foreach (var (name, (sum, squares, count)) in sums)
        {
            var mean = new float[sum.Length];
            var variance = new float[sum.Length];
            for (int c = 0; c < sum.Length; c++)
            {
                double m = sum[c] / count;
                mean[c] = (float)m;
                variance[c] = (float)Math.Max(0, squares[c] / count - m * m);
            }
            result[name] = (mean, variance);
        }
        return (result, seen > 0 ? (double)correct / seen : null);
    }
}

/// <summary>How re-inserted BatchNorms start.</summary>
public enum BatchNormInit
{
    /// <summary>The identity, unless the model scores at chance on the labelled calibration samples (an untrained model): then <see cref="Standard"/>.</summary>
    Auto,

    /// <summary>γ = √(σ² + ε), β = μ: the model computes what it did (recovery of a trained model).</summary>
    Identity,

    /// <summary>γ = 1, β = 0 with the calibration statistics as running statistics: a fresh PyTorch BatchNorm (training from scratch).</summary>
    Standard,
}

/// <summary>A model with BatchNorms re-inserted for training, and which nodes they are.</summary>
/// <param name="Model">The model to train.</param>
/// <param name="InsertedNodes">Names of the inserted BatchNormalization nodes (empty when there was nothing to insert).</param>
/// <param name="Init">How they started.</param>
public sealed record ReinsertedModel(OnnxModel Model, IReadOnlyList<string> InsertedNodes, BatchNormInit Init = BatchNormInit.Identity)
{
    /// <summary>The trained model with the inserted nodes folded back (<see cref="BatchNormReinsertion.FoldBack"/>).</summary>
    public OnnxModel FoldBack(OnnxModel trained) => BatchNormReinsertion.FoldBack(trained, InsertedNodes);
}
