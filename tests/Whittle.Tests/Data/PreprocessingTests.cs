using Whittle.Data;

namespace Whittle.Tests.Data;

public class PreprocessingTests
{
    [Fact]
    public void Divide_and_normalize_give_exact_values()
    {
        var data = new TensorDataset([0f, 2f, 4f, 6f], [2]);

        TensorDataset result = data.Preprocess(new Preprocessing(divisor: 2f).Normalize([1f], [0.5f]));

        // (x / 2 - 1) / 0.5 with every step exact in float.
        Assert.Equal([-2f, 0f, 2f, 4f], result.Features.ToArray());
    }

    [Fact]
    public void Byte_scaling_divides_like_torchvision_to_tensor()
    {
        var data = new TensorDataset([0f, 1f, 51f, 128f, 255f], [5]);

        float[] result = data.Preprocess(Preprocessing.BytesToUnitRange).Features.ToArray();

        // Division, not multiplication by 1/255: the two differ in the last bit for some bytes.
        Assert.Equal([0f, 1f / 255f, 51f / 255f, 128f / 255f, 1f], result);
    }

    [Fact]
    public void Normalization_is_per_channel_on_the_first_axis()
    {
        // Two samples of shape [3 channels, 2 pixels].
        float[] features = [1, 1, 2, 2, 3, 3, 5, 5, 6, 6, 7, 7];
        var data = new TensorDataset(features, [3, 1, 2]);

        TensorDataset result = data.Preprocess(Preprocessing.None.Normalize([1f, 2f, 3f], [1f, 0.5f, 0.25f]));

        Assert.Equal([0f, 0f, 0f, 0f, 0f, 0f, 4f, 4f, 8f, 8f, 16f, 16f], result.Features.ToArray());
    }

    [Fact]
    public void One_value_broadcasts_to_every_channel()
    {
        var data = new TensorDataset([1f, 3f, 5f], [3]);

        TensorDataset result = data.Preprocess(Preprocessing.None.Normalize([1f], [2f]));

        Assert.Equal([0f, 1f, 2f], result.Features.ToArray());
    }

    [Fact]
    public void Mean_count_must_match_the_channels()
    {
        var data = new TensorDataset(new float[2 * 784], [1, 28, 28]);

        var error = Assert.Throws<InvalidOptionException>(() => data.Preprocess(Preprocessing.None.Normalize([0.5f, 0.5f, 0.5f], [0.5f])));

        Assert.Equal("Mean", error.Option);
        Assert.Equal("Mean has 3 values, but samples of shape [1, 28, 28] have 1 channel(s) (the first axis); give one value per channel, or one for all", error.Message);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Std_must_be_finite_and_positive(float std)
    {
        Assert.Equal("Std", Assert.Throws<InvalidOptionException>(() => Preprocessing.None.Normalize([0f], [std])).Option);
    }

    [Fact]
    public void Options_are_validated_when_made()
    {
        Assert.Equal("Divisor must be finite and non-zero, got 0", Assert.Throws<InvalidOptionException>(() => new Preprocessing(divisor: 0f)).Message);
        Assert.Equal("Std", Assert.Throws<InvalidOptionException>(() => new Preprocessing(mean: [0f])).Option);
        Assert.Equal("Std has 3 values for 2 Mean values; give one per channel, or one for all",
            Assert.Throws<InvalidOptionException>(() => new Preprocessing(mean: [0f, 1f], std: [1f, 1f, 1f])).Message);
        Assert.Equal("Layout", Assert.Throws<InvalidOptionException>(() => new Preprocessing(layout: (FeatureLayout)42)).Option);
    }

    [Fact]
    public void Layouts_reshape_without_changing_values()
    {
        var image = new TensorDataset(Enumerable.Range(0, 2 * 4).Select(i => (float)i).ToArray(), [2, 2]);

        TensorDataset nchw = image.Preprocess(Preprocessing.None.WithLayout(FeatureLayout.Nchw));
        TensorDataset flat = nchw.Preprocess(Preprocessing.None.WithLayout(FeatureLayout.Flat));

        Assert.Equal([1, 2, 2], nchw.SampleShape);
        Assert.Equal([4], flat.SampleShape);
        Assert.Equal(image.Features.ToArray(), flat.Features.ToArray());
        Assert.Equal([2, 4], flat.Batches(2).Single().Shape);
        Assert.Equal([2, 1, 2, 2], nchw.Batches(2).Single().Shape);
    }

    [Fact]
    public void Flat_samples_cannot_become_nchw_without_a_shape()
    {
        var flat = new TensorDataset(new float[784], [784]);

        var error = Assert.Throws<InvalidOperationException>(() => flat.Preprocess(Preprocessing.None.WithLayout(FeatureLayout.Nchw)));

        Assert.Contains("WithSampleShape", error.Message);
    }

    [Fact]
    public void Channel_statistics_feed_normalization()
    {
        var data = new TensorDataset([1f, 3f, 10f, 10f, 3f, 1f, 20f, 30f], [2, 2]);

        var (mean, std) = data.ChannelStatistics();
        TensorDataset standardized = data.Preprocess(Preprocessing.None.Normalize(mean, std));
        var (mean2, std2) = standardized.ChannelStatistics();

        Assert.Equal([2f, 17.5f], mean);
        Assert.Equal([1f, (float)Math.Sqrt(68.75)], std);
        Assert.All(mean2, m => Assert.Equal(0f, m, 1e-6f));
        Assert.All(std2, s => Assert.Equal(1f, s, 1e-6f));
    }
}
