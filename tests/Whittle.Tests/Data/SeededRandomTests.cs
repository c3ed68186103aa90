using Whittle.Data;

namespace Whittle.Tests.Data;

public class SeededRandomTests
{
    [Fact]
    public void Matches_the_splitmix64_reference_sequence()
    {
        var random = new SeededRandom(0);

        Assert.Equal(0xE220A8397B1DCDAFUL, random.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, random.NextUInt64());
        Assert.Equal(0xF88BB8A8724C81ECUL, random.NextUInt64());
    }

    [Fact]
    public void Bounded_values_stay_in_range_and_cover_it()
    {
        var random = new SeededRandom(123);
        int[] counts = new int[7];

        for (int i = 0; i < 7000; i++) counts[random.NextBelow(7)]++;

        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }
}
