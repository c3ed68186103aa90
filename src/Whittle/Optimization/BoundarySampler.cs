namespace Whittle.Optimization;

/// <summary>
/// Proposes the next channel-pruning recipe of a search from the trials so far, by bisecting the
/// accuracy budget's boundary along the pruning ratio. Both objectives improve monotonically as more
/// channels go (fewer MACs, fewer bytes) while validation accuracy falls, so the best recipe of a
/// family sits at the largest ratio that still meets the budget: between the largest ratio that met
/// it and the smallest that did not. Each proposal halves that interval (to a resolution of
/// <see cref="Resolution"/>), where random sampling of the ratio spends most trials far from it; once
/// the interval is closed, the first infeasible ratio gets one more try with longer recovery
/// fine-tuning, and the feasible one the other quantization mode (static int8 for a pruned-only recipe, QAT for static, static for QAT;
/// under the size objective QAT with int4 weights, or static int8 after it). Pure: the same trials give the same
/// proposal, so a resumed search proposes what the interrupted one did.
/// </summary>
public static class BoundarySampler
{
    /// <summary>The finest step between two proposed ratios (a ratio is rounded to a multiple of it).</summary>
    public const double Resolution = 0.0625;

    /// <summary>The largest ratio proposed: beyond it a layer keeps too few channels to recover.</summary>
    public const double MaxRatio = 0.875;

    /// <summary>The smallest ratio proposed.</summary>
    public const double MinRatio = 0.125;

    /// <summary>Recovery epochs of a bisection trial.</summary>
    public const int Epochs = 3;

    /// <summary>Recovery epochs of the last try at the first infeasible ratio.</summary>
    public const int LongEpochs = 5;

    /// <summary>
    /// The next recipe to try, or null when the boundary is found and both of its refinements were
    /// tried (the search then falls back to its seeded candidates).
    /// </summary>
    /// <param name="trials">Every trial logged so far (any order); failed ones are ignored.</param>
    /// <param name="objective">The search's objective: which trial at the feasible ratio is the best (its quantize step is reused), and how widths are rounded (<see cref="RecipeSearch.ChannelRounding"/>).</param>
    /// <param name="tried">Recipes already run or queued, as <see cref="Recipe.ToJson"/>; a proposal is never one of them.</param>
    public static Recipe? Propose(IReadOnlyCollection<TrialRecord> trials, SearchObjective objective, IReadOnlySet<string> tried)
    {
        ArgumentNullException.ThrowIfNull(trials);
        ArgumentNullException.ThrowIfNull(tried);
        var pruned = trials.Where(t => t.Status is "done" or "stopped" && Channel(t.Recipe) is not null).ToList();
        if (pruned.Count == 0) return null;
        bool Feasible(TrialRecord t) => t.Status == "done" && t.MeetsBudget;
        var feasible = pruned.Where(Feasible).ToList();
        double? okMax = feasible.Count > 0 ? feasible.Max(t => Channel(t.Recipe)!.Amount) : null;
        var above = pruned.Where(t => !Feasible(t) && (okMax is null || Channel(t.Recipe)!.Amount > okMax + 1e-9)).ToList();
        double? badMin = above.Count > 0 ? above.Min(t => Channel(t.Recipe)!.Amount) : null;

        // The quantize step to pair with a new ratio: the best feasible trial's (the one the search would pick; none when
        // pruning alone was best, as int8 kernels can be slower than float ones on narrow layers), else static int8 placed for the objective.
        var placed = RecipeSearch.PlacedStatic(objective);
        var best = feasible.OrderBy(t => objective == SearchObjective.Latency ? t.LatencyRatio ?? double.MaxValue : t.Bytes ?? long.MaxValue)
            .ThenByDescending(t => t.ValidationAccuracy).ThenBy(t => t.Trial).FirstOrDefault();
        var quantize = best is null ? placed : best.Recipe.Steps.OfType<QuantizeStep>().FirstOrDefault();

        int round = RecipeSearch.ChannelRounding(objective), floor = RecipeSearch.ChannelFloor(objective);
        Recipe Make(double ratio, int epochs, QuantizeStep? q)
        {
            var prune = new PruneStep("channel", ratio, FineTuneEpochs: epochs, RoundTo: round, MinChannels: floor);
            return q is null ? new([prune]) : new([prune, q]);
        }
        Recipe? New(Recipe r) => tried.Contains(r.ToJson()) ? null : r;

        double? next = (okMax, badMin) switch
        {
            ({ } ok, { } bad) when bad - ok > Resolution + 1e-9 => Snap((ok + bad) / 2, ok, bad),
            ({ } ok, null) when ok < MaxRatio - 1e-9 => Math.Min(MaxRatio, Snap((ok + 1) / 2, ok, 1)),
            (null, { } bad) when bad > MinRatio + 1e-9 => Math.Max(MinRatio, Snap(bad / 2, 0, bad)),
            _ => null,
        };
        if (next is { } ratio && New(Make(ratio, Epochs, quantize)) is { } bisect) return bisect;

        // The interval is closed: more recovery at the first ratio that failed, then the other quantization mode at the boundary.
        if (badMin is { } b && above.Where(t => Channel(t.Recipe)!.Amount == b).Max(t => Channel(t.Recipe)!.FineTuneEpochs) < LongEpochs
            && New(Make(b, LongEpochs, quantize)) is { } longer)
            return longer;
        if (best is not null && Channel(best.Recipe) is { } at)
        {
            // Under size the other mode is QAT with int4 weights, the smallest that can keep the accuracy.
            var other = quantize is null ? placed
                : objective == SearchObjective.Size ? quantize is { Mode: "qat", WeightBits: 4 } ? placed : new QuantizeStep("qat", 4, "size", FineTuneEpochs: 1)
                : quantize.Mode == "qat" ? new QuantizeStep() : new QuantizeStep("qat", quantize.WeightBits, quantize.Objective, FineTuneEpochs: 1);
            if (New(Make(at.Amount, at.FineTuneEpochs, other)) is { } switched) return switched;
        }
        return null;
    }

    /// <summary>The channel-pruning first step of a recipe, or null.</summary>
    private static PruneStep? Channel(Recipe recipe) => recipe.Steps.Count > 0 && recipe.Steps[0] is PruneStep { Method: "channel" } p ? p : null;

    /// <summary>A ratio rounded to the resolution, kept strictly inside (low, high) when the interval allows it.</summary>
    private static double Snap(double ratio, double low, double high)
    {
        double snapped = Math.Round(ratio / Resolution, MidpointRounding.AwayFromZero) * Resolution;
        if (snapped <= low + 1e-9) snapped = low + Resolution;
        if (snapped >= high - 1e-9) snapped = high - Resolution;
        return Math.Round(snapped, 6);
    }
}
