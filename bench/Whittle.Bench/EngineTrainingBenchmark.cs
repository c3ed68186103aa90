using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Bench;

/// <summary>
/// Training throughput of the Engine (an ONNX graph run node by node) against the same
/// architecture written directly in TorchSharp, interleaved in one process, and against
/// PyTorch on this machine when python3-torch is installed.
/// </summary>
internal sealed class EngineTrainingBenchmark : IBenchmark
{
    public string Name => "engine";
    public string Description => "training samples/s: Engine vs hand-written TorchSharp (interleaved) vs PyTorch, zoo ConvNet";

    private const int Batch = 128;

    public object Run(BenchContext context)
    {
        int threads = Math.Min(2, Environment.ProcessorCount);
        set_num_threads(threads);
        const double width = 0.5;
        var model = ModelZoo.Create("convnet", new ZooModelSettings(width: width, seed: 1));
        int c1 = 16, c2 = 32;
        int rounds = context.Quick ? 4 : 12, stepsPerRound = context.Quick ? 4 : 8;

        using var engine = new OnnxModule(model);
        using var hand = new HandWrittenConvNet(c1, c2, 128, 10);
        hand.CopyFrom(engine);
        // A second, identical hand-written model: hand2 / hand shows the noise floor of the ratio.
        using var hand2 = new HandWrittenConvNet(c1, c2, 128, 10);
        hand2.CopyFrom(engine);

        // Same weights, same function: the comparison is only about execution.
        var probe = randn(8, 1, 28, 28, generator: new Generator(7));
        engine.eval(); hand.eval();
        double diff;
        using (no_grad()) diff = (engine.forward(probe) - hand.forward(probe)).abs().max().item<float>();
        AnsiConsole.MarkupLine($"eval-mode max |Δ| Engine vs hand-written: {diff:G3}");

        var x = randn(Batch, 1, 28, 28, generator: new Generator(1)).DetachFromDisposeScope();
        var y = randint(0, 10, [Batch], generator: new Generator(2)).DetachFromDisposeScope();
        var engineOpt = optim.AdamW(engine.parameters(), 1e-3);
        var handOpt = optim.AdamW(hand.parameters(), 1e-3);
        var hand2Opt = optim.AdamW(hand2.parameters(), 1e-3);
        engine.train(); hand.train(); hand2.train();
        for (int w = 0; w < 3; w++) { Step(engine, engineOpt, x, y); Step(hand, handOpt, x, y); Step(hand2, hand2Opt, x, y); }

        // Per-round rates, interleaved; the median round is reported (a shared 2-core machine has
        // bursts of interference that a plain total would mix into one side or the other).
        var engineRates = new List<double>();
        var handRates = new List<double>();
        var hand2Rates = new List<double>();
        var runners = new (List<double> Rates, nn.Module<Tensor, Tensor> Module, optim.Optimizer Optimizer)[]
        {
            (engineRates, engine, engineOpt), (handRates, hand, handOpt), (hand2Rates, hand2, hand2Opt),
        };
        for (int r = 0; r < rounds; r++)
        {
            // Rotate which goes first so drift on a shared machine hits all alike.
            for (int k = 0; k < runners.Length; k++)
            {
                var (rates, module, optimizer) = runners[(k + r) % runners.Length];
                rates.Add(stepsPerRound * Batch / Time(module, optimizer, x, y, stepsPerRound));
            }
        }
        int samples = rounds * stepsPerRound * Batch;
        double engineRate = Median(engineRates), handRate = Median(handRates);
        var perRoundRatios = engineRates.Zip(handRates, (e, h) => e / h).ToList();
        double noiseFloor = Median(hand2Rates) / handRate;

        var pytorch = RunPyTorch(context, c1, c2, threads, rounds * stepsPerRound);
        var table = new Table().Title($"Training throughput, zoo convnet width {width} ({c1}/{c2} channels), batch {Batch}, AdamW, {threads} threads")
            .AddColumns("executor", "samples/s", "ratio to hand-written TorchSharp");
        table.AddRow("Whittle Engine (OnnxModule)", engineRate.ToString("0"), (engineRate / handRate).ToString("0.00"));
        table.AddRow("hand-written TorchSharp", handRate.ToString("0"), "1.00");
        table.AddRow("hand-written TorchSharp, second copy (noise floor)", Median(hand2Rates).ToString("0"), noiseFloor.ToString("0.00"));
        if (pytorch is { } p) table.AddRow($"PyTorch {p.Version} (separate process)", p.SamplesPerSecond.ToString("0"), (p.SamplesPerSecond / handRate).ToString("0.00"));
        else table.AddRow("PyTorch", "not installed", "");
        AnsiConsole.Write(table);
        return new
        {
            model = "zoo convnet width 0.5",
            batch = Batch,
            threads,
            samples,
            engineSamplesPerSecond = engineRate,
            torchSharpSamplesPerSecond = handRate,
            engineToTorchSharp = engineRate / handRate,
            perRoundRatios,
            noiseFloorSecondCopyToFirst = noiseFloor,
            rounds,
            stepsPerRound,
            pyTorchSamplesPerSecond = pytorch?.SamplesPerSecond,
            pyTorchVersion = pytorch?.Version,
            engineToPyTorch = pytorch is { } q ? engineRate / q.SamplesPerSecond : (double?)null,
            evalMaxAbsDifference = diff,
        };
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Step(nn.Module<Tensor, Tensor> m, optim.Optimizer opt, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = nn.functional.cross_entropy(m.forward(x), y);
        loss.backward();
        opt.step();
    }

    private static double Time(nn.Module<Tensor, Tensor> m, optim.Optimizer opt, Tensor x, Tensor y, int steps)
    {
        long start = Stopwatch.GetTimestamp();
        for (int s = 0; s < steps; s++) Step(m, opt, x, y);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private sealed record PyTorchResult(double SamplesPerSecond, string Version);

    private static PyTorchResult? RunPyTorch(BenchContext context, int c1, int c2, int threads, int steps)
    {
        const string python = "/usr/bin/python3";
        var script = Path.Combine(context.RepoRoot, "bench", "reference", "train_throughput.py");
        if (!File.Exists(python)) return null;
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--c1", c1.ToString(), "--c2", c2.ToString(), "--threads", threads.ToString(), "--steps", steps.ToString(), "--batch", Batch.ToString() })
            info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) return null; // python3-torch not installed
        var json = JsonDocument.Parse(output).RootElement;
        return new PyTorchResult(json.GetProperty("samples_per_second").GetDouble(), json.GetProperty("torch").GetString()!);
    }

    /// <summary>The zoo ConvNet written directly with TorchSharp modules.</summary>
    private sealed class HandWrittenConvNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> _net;

        public HandWrittenConvNet(int c1, int c2, int hidden, int classes) : base("HandWrittenConvNet")
        {
            _net = nn.Sequential(
                ("c11", nn.Conv2d(1, c1, 3, padding: 1, bias: false)), ("b11", nn.BatchNorm2d(c1)), ("r11", nn.ReLU()),
                ("c12", nn.Conv2d(c1, c1, 3, padding: 1, bias: false)), ("b12", nn.BatchNorm2d(c1)), ("r12", nn.ReLU()),
                ("p1", nn.MaxPool2d(2)),
                ("c21", nn.Conv2d(c1, c2, 3, padding: 1, bias: false)), ("b21", nn.BatchNorm2d(c2)), ("r21", nn.ReLU()),
                ("c22", nn.Conv2d(c2, c2, 3, padding: 1, bias: false)), ("b22", nn.BatchNorm2d(c2)), ("r22", nn.ReLU()),
                ("p2", nn.MaxPool2d(2)),
                ("f", nn.Flatten()), ("fc1", nn.Linear(c2 * 7 * 7, hidden)), ("r", nn.ReLU()), ("d", nn.Dropout(0.25)),
                ("fc2", nn.Linear(hidden, classes)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _net.forward(input);

        /// <summary>Copies the Engine's weights by position (both list conv, BN, linear tensors in graph order).</summary>
        public void CopyFrom(OnnxModule engine)
        {
            using var _ = no_grad();
            var mine = named_parameters().Select(p => p.parameter).ToList();
            var theirs = engine.Source.Graph.Initializers.Where(t => engine.ParametersByInitializer.ContainsKey(t.Name))
                .Select(t => engine.ParametersByInitializer[t.Name]).ToList();
            if (mine.Count != theirs.Count) throw new InvalidOperationException($"{mine.Count} vs {theirs.Count} parameters");
            for (int i = 0; i < mine.Count; i++) mine[i].copy_(theirs[i].reshape(mine[i].shape));
            var myStats = named_buffers().Where(b => !b.name.EndsWith("num_batches_tracked")).Select(b => b.buffer).ToList();
            var theirStats = engine.Source.Graph.Initializers.Where(t => engine.BuffersByInitializer.ContainsKey(t.Name))
                .Select(t => engine.BuffersByInitializer[t.Name]).ToList();
            for (int i = 0; i < myStats.Count; i++) myStats[i].copy_(theirStats[i]);
        }
    }
}
