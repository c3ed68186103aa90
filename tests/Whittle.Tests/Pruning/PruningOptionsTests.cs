using Whittle.Pruning;

namespace Whittle.Tests.Pruning;

public sealed class PruningOptionsTests
{
    [Fact]
    public void The_fine_tuning_recipe_carries_the_seed_and_keeps_the_last_epoch()
    {
        var options = new ModelPruningOptions(channel: new ChannelPruningOptions(0.5), fineTuneEpochs: 3, seed: 7);
        var trainer = Assert.IsType<Whittle.Training.TrainerOptions>(options.FineTuning);
        Assert.Equal(7, trainer.Seed);
        Assert.Equal(3, trainer.Epochs);
        Assert.False(trainer.RestoreBestWeights);
        Assert.Equal(0, new ModelPruningOptions(channel: new ChannelPruningOptions(0.5), fineTuneEpochs: 1).FineTuning!.Seed);
        Assert.Null(new ModelPruningOptions(channel: new ChannelPruningOptions(0.5)).FineTuning);
    }
}
