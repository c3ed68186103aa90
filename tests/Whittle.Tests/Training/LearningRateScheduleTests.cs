using TorchSharp;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

/// <summary>
/// Exact-value tables. The expected values were printed by PyTorch 1.13.1 stepping its own
/// schedulers (SGD(lr=0.1, momentum=0.9); record param_groups[0]['lr'] before each step, then
/// scheduler.step()); PyTorch steps the recursive forms, so a few agree to ~1e-16 rather than bit for bit.
/// </summary>
public sealed class LearningRateScheduleTests
{
    private const double Base = 0.1;

    private static void AssertTable(LearningRateSchedule schedule, double[] expected)
    {
        for (int t = 0; t < expected.Length; t++)
            Assert.True(Math.Abs(schedule.At(t, Base) - expected[t]) <= 1e-15 + 1e-12 * Math.Abs(expected[t]),
                $"tick {t}: expected {expected[t]:R}, got {schedule.At(t, Base):R}");
    }

    [Fact]
    public void Constant_is_the_base_rate() => AssertTable(LearningRateSchedule.Constant, [0.1, 0.1, 0.1]);

    [Fact]
    public void Step_matches_PyTorch_StepLR() =>
        AssertTable(new StepSchedule(3, 0.1), [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002]);

    [Fact]
    public void MultiStep_matches_PyTorch_MultiStepLR() =>
        AssertTable(new MultiStepSchedule([2, 5], 0.5), [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]);

    [Fact]
    public void Exponential_matches_PyTorch_ExponentialLR() =>
        AssertTable(new ExponentialSchedule(0.9), [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002, 0.05904900000000002]);

    [Fact]
    public void Cosine_matches_PyTorch_CosineAnnealingLR_and_the_closed_form()
    {
        var cosine = new CosineAnnealingSchedule(period: 10, minimumLearningRate: 0.001);
        AssertTable(cosine, [0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505,
            0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004, 0.001]);
        // eta_min + (lr0 - eta_min)(1 + cos(pi t / T)) / 2 at t = 5: the midpoint.
        Assert.Equal(0.001 + (0.1 - 0.001) / 2, cosine.At(5, Base), 15);
    }

    [Fact]
    public void Warmup_then_cosine_matches_PyTorch_SequentialLR_of_LinearLR_and_CosineAnnealingLR() =>
        AssertTable(new LinearWarmupSchedule(4, new CosineAnnealingSchedule(period: 6), startFactor: 0.25),
            [0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.1, 0.09330127018922195, 0.07500000000000001, 0.05,
             0.025000000000000012, 0.006698729810778065, 0.0]);

    [Fact]
    public void OneCycle_matches_PyTorch_OneCycleLR_rate_and_momentum()
    {
        var schedule = new OneCycleSchedule(totalSteps: 10);
        AssertTable(schedule, [0.0040000000000000036, 0.052000000000000005, 0.1, 0.09504846320134738, 0.0811745653949763, 0.06112620219362893,
            0.03887419780637107, 0.0188258346050237, 0.004951936798652629, 4e-07]);
        double[] momentum = [0.95, 0.8999999999999999, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842, 0.9111260466978157,
            0.9311744900929366, 0.945048443395121, 0.95];
        for (int t = 0; t < momentum.Length; t++) Assert.Equal(momentum[t], schedule.MomentumAt(t)!.Value, 14);
    }

    [Fact]
    public void OneCycle_three_phase_linear_matches_PyTorch()
    {
        var schedule = new OneCycleSchedule(totalSteps: 12, percentStart: 0.25, anneal: AnnealStrategy.Linear, threePhase: true);
        AssertTable(schedule, [0.004, 0.052000000000000005, 0.1, 0.052000000000000005, 0.0040000000000000036, 0.0034286285714285715,
            0.002857257142857143, 0.0022858857142857144, 0.0017145142857142859, 0.0011431428571428573, 0.0005717714285714288, 4.0000000000022656e-07]);
        Assert.Equal(0.85, schedule.MomentumAt(2)!.Value, 14);
        Assert.Equal(0.95, schedule.MomentumAt(7)!.Value, 14);
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.At(13, Base));
    }

    [Fact]
    public void Schedules_without_a_length_need_the_run_to_fix_it()
    {
        var open = new CosineAnnealingSchedule();
        Assert.Throws<InvalidOperationException>(() => open.At(0, Base));
        var fixedToRun = (CosineAnnealingSchedule)open.ForRun(20);
        Assert.Equal(20, fixedToRun.Period);
        var warm = (LinearWarmupSchedule)new LinearWarmupSchedule(5, new OneCycleSchedule()).ForRun(100);
        Assert.Equal(95, ((OneCycleSchedule)warm.After).TotalSteps);
        Assert.Equal(ScheduleUnit.Step, warm.Unit);
    }

    /// <summary>Where TorchSharp's own schedulers are right, the closed forms agree with them step by step.</summary>
    [Fact]
    public void Closed_forms_agree_with_TorchSharp_lr_schedulers()
    {
        (Func<optim.Optimizer, optim.lr_scheduler.LRScheduler> Make, LearningRateSchedule Ours)[] cases =
        [
            (o => optim.lr_scheduler.StepLR(o, 3, 0.5), new StepSchedule(3, 0.5)),
            (o => optim.lr_scheduler.MultiStepLR(o, [2, 5], 0.1), new MultiStepSchedule([2, 5], 0.1)),
            (o => optim.lr_scheduler.ExponentialLR(o, 0.8), new ExponentialSchedule(0.8)),
            (o => optim.lr_scheduler.CosineAnnealingLR(o, 12, 0.002), new CosineAnnealingSchedule(12, 0.002)),
            (o => optim.lr_scheduler.OneCycleLR(o, Base, total_steps: 20), new OneCycleSchedule(totalSteps: 20)),
        ];
        foreach (var (make, ours) in cases)
        {
            using var parameter = new TorchSharp.Modules.Parameter(zeros(1));
            using var optimizer = optim.SGD(new[] { parameter }, Base, momentum: 0.9);
            var scheduler = make(optimizer);
            for (int t = 0; t < 19; t++)
            {
                double theirs = optimizer.ParamGroups.First().LearningRate;
                Assert.True(Math.Abs(theirs - ours.At(t, Base)) <= 1e-12, $"{ours} at {t}: TorchSharp {theirs:R}, Whittle {ours.At(t, Base):R}");
                scheduler.step();
            }
        }
    }

    [Fact]
    public void Invalid_settings_are_rejected_in_constructors()
    {
        Assert.Throws<InvalidOptionException>(() => new StepSchedule(0));
        Assert.Throws<InvalidOptionException>(() => new StepSchedule(1, gamma: 0));
        Assert.Equal("Milestones must increase strictly, got 3 after 3", Assert.Throws<InvalidOptionException>(() => new MultiStepSchedule([3, 3])).Message);
        Assert.Throws<InvalidOptionException>(() => new MultiStepSchedule([]));
        Assert.Equal("Gamma must be positive and finite, got NaN", Assert.Throws<InvalidOptionException>(() => new ExponentialSchedule(double.NaN)).Message);
        Assert.Throws<InvalidOptionException>(() => new CosineAnnealingSchedule(period: 0));
        Assert.Throws<InvalidOptionException>(() => new LinearWarmupSchedule(2, LearningRateSchedule.Constant, startFactor: 0));
        Assert.Throws<InvalidOptionException>(() => new OneCycleSchedule(percentStart: 1));
        Assert.Equal("Unit must be one of Epoch, Step, got 7", Assert.Throws<InvalidOptionException>(() => new StepSchedule(1, unit: (ScheduleUnit)7)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Constant.At(-1, Base));
    }
}
