using System.Diagnostics;
using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>Settings of a measurement in rounds. Immutable; validated here; every default lives here.</summary>
public sealed class LatencyRoundsOptions
{
    /// <summary>The options with every default.</summary>
    public static LatencyRoundsOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="minRounds">Rounds timed even when they exceed the budget (the spread needs a few).</param>
    /// <param name="maxRounds">Rounds timed at most, however fast the models are.</param>
    /// <param name="runsPerRound">Runs of every model in one round; the round's time of a model is their median.</param>
    /// <param name="warmupRuns">Untimed runs of every model first.</param>
    /// <param name="budgetSeconds">Time the rounds of one call aim at; fewer runs per round (down to 1) and fewer rounds (down to <paramref name="minRounds"/>) when the models are slow.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public LatencyRoundsOptions(int minRounds = 9, int maxRounds = 21, int runsPerRound = 3, int warmupRuns = 3, double budgetSeconds = 3)
    {
        MinRounds = OptionChecks.Positive(minRounds, nameof(MinRounds));
        MaxRounds = OptionChecks.Positive(maxRounds, nameof(MaxRounds));
        if (maxRounds < minRounds) throw new InvalidOptionException(nameof(MaxRounds), $"MaxRounds ({maxRounds}) must be at least MinRounds ({minRounds})");
        RunsPerRound = OptionChecks.Positive(runsPerRound, nameof(RunsPerRound));
        WarmupRuns = OptionChecks.NonNegative(warmupRuns, nameof(WarmupRuns));
        if (!(budgetSeconds > 0 && double.IsFinite(budgetSeconds))) throw new InvalidOptionException(nameof(BudgetSeconds), $"the budget must be a positive number of seconds, not {budgetSeconds}");
        BudgetSeconds = budgetSeconds;
    }

    /// <summary>Rounds timed even when they exceed the budget.</summary>
    public int MinRounds { get; }

    /// <summary>Rounds timed at most.</summary>
    public int MaxRounds { get; }

    /// <summary>Runs of every model per round (fewer when the models are slow).</summary>
    public int RunsPerRound { get; }

    /// <summary>Untimed runs of every model first.</summary>
    public int WarmupRuns { get; }

    /// <summary>Time the rounds of one call aim at.</summary>
    public double BudgetSeconds { get; }

    /// <summary>Rounds and runs per round for models whose one pass (one run of each) takes <paramref name="passMs"/>: as many as fit the budget, within the bounds.</summary>
    public (int Rounds, int RunsPerRound) Plan(double passMs)
    {
        double budgetMs = BudgetSeconds * 1000;
        passMs = Math.Max(passMs, 1e-3);
        int runs = RunsPerRound;
        while (runs > 1 && MinRounds * runs * passMs > budgetMs) runs--;
        int rounds = (int)Math.Clamp(Math.Floor(budgetMs / (runs * passMs)), MinRounds, MaxRounds);
        return (rounds, runs);
    }
}

/// <summary>Per-round times of one session.</summary>
/// <param name="Label">The model.</param>
/// <param name="BatchSize">Samples per run.</param>
/// <param name="RoundMs">Each round's time: the median of the session's runs in that round, in ms.</param>
/// <param name="RunMs">Every timed run, in order.</param>
public sealed record RoundTimes(string Label, int BatchSize, double[] RoundMs, double[] RunMs);

/// <summary>
/// Times several sessions in rounds: in every round each session runs a few times, in an order
/// that rotates from round to round and reverses from run to run (A B C, C B A, ...), so a burst
/// of load on a shared machine lands on every model of the round. Comparing models round by round
/// (the ratio of their times in the same round) cancels the slow drift that separate timings
/// suffer from, and the spread of those per-round ratios says how far the comparison can be trusted.
/// Sessions should be created with spinning off (<see cref="RuntimeOptions.ForComparison"/>).
/// </summary>
public static class InterleavedRounds
{
    /// <summary>Times <paramref name="sessions"/> on the same <paramref name="inputs"/>; one result per session, in order, all with the same number of rounds.</summary>
    public static IReadOnlyList<RoundTimes> Measure(IReadOnlyList<OnnxRuntimeSession> sessions, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        LatencyRoundsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(inputs);
        return Measure(sessions, sessions.Select(_ => inputs).ToArray(), options);
    }

    /// <summary>
    /// Times <paramref name="sessions"/> each on its own inputs (<paramref name="inputs"/>[k] for session k: models whose
    /// inputs differ in name or type, e.g. a float and an integer kernel); one result per session, in order, all with the
    /// same number of rounds.
    /// </summary>
    public static IReadOnlyList<RoundTimes> Measure(IReadOnlyList<OnnxRuntimeSession> sessions, IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> inputs,
        LatencyRoundsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(inputs);
        if (sessions.Count == 0) throw new ArgumentException("time at least one session", nameof(sessions));
        if (inputs.Count != sessions.Count) throw new ArgumentException($"one set of inputs per session: {sessions.Count} sessions, {inputs.Count} sets", nameof(inputs));
        options ??= LatencyRoundsOptions.Default;
        int n = sessions.Count;
        int batchSize = (int)(inputs[0].Values.FirstOrDefault()?.Shape.FirstOrDefault(1) ?? 1);
        var outputs = sessions.Select(s => (IReadOnlyCollection<string>)s.Outputs.Select(o => o.Name).ToArray()).ToArray();
        double passMs = 0;
        for (int w = 0; w < Math.Max(1, options.WarmupRuns); w++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int k = 0; k < n; k++) sessions[k].Run(inputs[k], outputs[k]);
            passMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        var (rounds, runs) = options.Plan(passMs);
        var roundMs = sessions.Select(_ => new double[rounds]).ToArray();
        var runMs = sessions.Select(_ => new List<double>(rounds * runs)).ToArray();
        var inRound = sessions.Select(_ => new double[runs]).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int j = 0; j < runs; j++)
            {
                for (int i = 0; i < n; i++)
                {
                    int position = j % 2 == 0 ? i : n - 1 - i;
                    int k = (position + r) % n;
                    long start = Stopwatch.GetTimestamp();
                    sessions[k].Run(inputs[k], outputs[k]);
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    inRound[k][j] = ms;
                    runMs[k].Add(ms);
                }
            }
            for (int k = 0; k < n; k++) roundMs[k][r] = Median(inRound[k]);
        }
        return sessions.Select((s, k) => new RoundTimes(s.Label, batchSize, roundMs[k], [.. runMs[k]])).ToList();
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}

/// <summary>A model to time, by the name the timings are reported under.</summary>
/// <param name="Name">The name (e.g. "float", "all-int8").</param>
/// <param name="Model">The model.</param>
public sealed record TimedModel(string Name, OnnxModel Model);

/// <summary>
/// Where latency comparisons get their numbers: the models of one comparison timed together,
/// round by round. The default (<see cref="OrtLatencyTimer"/>) runs them in ONNX Runtime; tests and
/// callers with their own harness inject another one, so that decisions built on it are deterministic.
/// </summary>
public interface ILatencyTimer
{
    /// <summary>
    /// Times <paramref name="models"/> together on <paramref name="inputs"/> in fresh sessions; returns,
    /// per model and in order, its time in every round (ms). Every model has the same number of
    /// rounds, and round r of one model was timed together with round r of the others.
    /// </summary>
    IReadOnlyList<double[]> Time(IReadOnlyList<TimedModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime);
}

/// <summary>
/// Times models in ONNX Runtime with <see cref="InterleavedRounds"/>: one new session per model and
/// call (created before any is timed, disposed after), with the caller's threads and spinning off.
/// </summary>
/// <param name="options">Rounds and budget; null for <see cref="LatencyRoundsOptions.Default"/>.</param>
public sealed class OrtLatencyTimer(LatencyRoundsOptions? options = null) : ILatencyTimer
{
    /// <summary>A timer with the default rounds.</summary>
    public static OrtLatencyTimer Default { get; } = new();

    /// <summary>The rounds and budget.</summary>
    public LatencyRoundsOptions Options { get; } = options ?? LatencyRoundsOptions.Default;

    /// <inheritdoc />
    public IReadOnlyList<double[]> Time(IReadOnlyList<TimedModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(runtime);
        // Spinning threads of one idle session steal the cores of the one being timed; a profiler would time itself.
        var comparison = runtime.AllowSpinning || runtime.ProfilePrefix is not null
            ? new RuntimeOptions(runtime.IntraOpThreads, runtime.InterOpThreads, runtime.Optimization, allowSpinning: false)
            : runtime;
        var sessions = new List<OnnxRuntimeSession>(models.Count);
        try
        {
            foreach (var m in models) sessions.Add(new OnnxRuntimeSession(m.Model, comparison));
            return InterleavedRounds.Measure(sessions, inputs, Options).Select(t => t.RoundMs).ToList();
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }
}
