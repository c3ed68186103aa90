using Whittle.Data;

namespace Whittle.Tests.Data;

public sealed class TextDataTests
{
    private static readonly string MiniFortunes = Path.Combine(TestPaths.Data, "fortunes-mini");

    [Fact]
    public void FortuneReaderSplitsEntriesOnPercentLinesAndSkipsIndexFilesLinksAndSubdirectories()
    {
        using var dir = new TempDirectory();
        dir.WriteText("alpha", "first entry\nsecond line\n%\nsecond entry\n%\n   \n%\nthird entry without trailing percent");
        dir.WriteText("beta", "%\nonly one\n%\n");
        dir.WriteBytes("alpha.dat", [1, 2, 3]);
        File.CreateSymbolicLink(dir.File("alpha.u8"), dir.File("alpha"));
        Directory.CreateDirectory(dir.File("off"));
        dir.WriteText("off/gamma", "hidden\n%\n");

        Assert.Equal(["alpha", "beta"], FortuneReader.ListCategories(dir.Path));
        var corpus = FortuneReader.Read(dir.Path, ["beta", "alpha"]);
        Assert.Equal(["beta", "alpha"], corpus.ClassNames);
        Assert.Equal(["only one", "first entry\nsecond line", "second entry", "third entry without trailing percent"], corpus.Texts);
        Assert.Equal([0, 1, 1, 1], corpus.Labels);
    }

    [Fact]
    public void AnEmptyCategoryFileIsAClearError()
    {
        using var dir = new TempDirectory();
        dir.WriteText("full", "an entry\n%\n");
        dir.WriteText("empty", "%\n  \n%\n");
        var e = Assert.Throws<DataFormatException>(() => FortuneReader.Read(dir.Path));
        Assert.Equal(dir.File("empty"), e.FilePath);
        Assert.Contains("empty category file", e.Message);
    }

    [Fact]
    public void AMissingCategoryListsTheAvailableOnes()
    {
        using var dir = new TempDirectory();
        dir.WriteText("a", "x\n%\n");
        dir.WriteText("b", "y\n%\n");
        var e = Assert.Throws<DataFormatException>(() => FortuneReader.Read(dir.Path, ["a", "nope"]));
        Assert.Contains("no fortune category 'nope'; available: a, b", e.Message);
    }

    [Fact]
    public void TheBundledSampleHasFortyEntriesInEachOfTheTenReferenceCategories()
    {
        var corpus = DatasetSpec.Parse("fortunes:" + MiniFortunes).OpenText(FortuneReader.ReferenceCategories);
        Assert.Equal(FortuneReader.ReferenceCategories, corpus.ClassNames);
        Assert.All(corpus.CountPerClass(), n => Assert.Equal(40, n));
        Assert.Equal(FortuneReader.ReferenceCategories, FortuneReader.ListCategories(MiniFortunes));
    }

    [SkippableFact]
    public void TheDebianCorpusHasTheReferenceCategories()
    {
        Skip.IfNot(Directory.Exists(FortuneReader.DebianDirectory), "needs the Debian package fortunes");
        var corpus = FortuneReader.Read(FortuneReader.DebianDirectory, FortuneReader.ReferenceCategories);
        Assert.Equal(10, corpus.ClassNames.Count);
        Assert.All(corpus.CountPerClass(), n => Assert.True(n >= 100, $"{n} entries"));
    }

    [Fact]
    public void TsvReaderNumbersClassesByFirstAppearance()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteText("t.tsv", "pos\tgreat film\n\nneg\tdull\tand long\npos\tfine\n");
        var corpus = TsvTextReader.Read(path);
        Assert.Equal(["pos", "neg"], corpus.ClassNames);
        Assert.Equal(["great film", "dull\tand long", "fine"], corpus.Texts);
        Assert.Equal([0, 1, 0], corpus.Labels);
    }

    [Theory]
    [InlineData("pos\tgood\njust text without a label\n", 2, "no tab")]
    [InlineData("pos\tgood\n\tno label here\n", 2, "label before the tab is empty")]
    [InlineData("pos\tgood\nneg\t  \n", 2, "text after the tab is empty")]
    public void ATsvLineWithoutALabelOrTextNamesTheLine(string content, int line, string problem)
    {
        using var dir = new TempDirectory();
        var path = dir.WriteText("bad.tsv", content);
        var e = Assert.Throws<DataFormatException>(() => TsvTextReader.Read(path));
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message);
        Assert.StartsWith(path + ", line " + line, e.Message);
    }

    [Fact]
    public void FolderReaderTakesOneClassPerFileAndOneExamplePerLine()
    {
        using var dir = new TempDirectory();
        dir.WriteText("sport.txt", "goal!\n\nmatch report\n");
        dir.WriteText("arts.txt", "an opera\n");
        var corpus = DatasetSpec.Parse("text-folder:" + dir.Path).OpenText();
        Assert.Equal(["arts", "sport"], corpus.ClassNames);
        Assert.Equal(["an opera", "goal!", "match report"], corpus.Texts);
        Assert.Equal([0, 1, 1], corpus.Labels);
        dir.WriteText("empty.txt", "\n \n");
        Assert.Contains("empty class file", Assert.Throws<DataFormatException>(() => TextFolderReader.Read(dir.Path)).Message);
    }

    [Theory]
    [InlineData(true, true, "Don't PANIC! It's 42 °C... ok?", new[] { "don", "t", "panic", "it", "s", "42", "c", "ok" })]
    [InlineData(false, true, "Don't PANIC! It's", new[] { "Don", "t", "PANIC", "It", "s" })]
    [InlineData(true, false, "Don't PANIC! (ok)", new[] { "don", "'", "t", "panic", "!", "(", "ok", ")" })]
    [InlineData(true, true, "  tabs\tand\nnew\r\nlines  ", new[] { "tabs", "and", "new", "lines" })]
    public void TokenizerSplitsWordsAsTheOptionsSay(bool lowercase, bool strip, string text, string[] expected)
    {
        var options = new TokenizerOptions(lowercase: lowercase, stripPunctuation: strip);
        Assert.Equal(expected, WordTokenizer.Tokenize(text, options));
    }

    [Fact]
    public void VocabularyKeepsFrequentWordsMostFrequentFirstWithinTheSizeCap()
    {
        string[] texts = ["b a a c", "a b d", "e b e", "c"];
        // Counts: a 3, b 3, c 2, e 2, d 1. Ties in ordinal order.
        var all = Vocabulary.Build(texts, ["x", "y"], new TokenizerOptions(minFrequency: 1));
        Assert.Equal(["<pad>", "<unk>", "a", "b", "c", "e", "d"], all.Tokens);
        var frequent = Vocabulary.Build(texts, ["x", "y"], new TokenizerOptions(minFrequency: 2));
        Assert.Equal(["<pad>", "<unk>", "a", "b", "c", "e"], frequent.Tokens);
        var capped = Vocabulary.Build(texts, ["x", "y"], new TokenizerOptions(minFrequency: 1, maxSize: 4));
        Assert.Equal(["<pad>", "<unk>", "a", "b"], capped.Tokens);
    }

    [Fact]
    public void EncodingPadsWithZeroTruncatesAfterTheFirstWordsAndMapsUnknownWordsToOne()
    {
        var vocabulary = Vocabulary.Build(["red green blue red green red"], ["x", "y"], new TokenizerOptions(sequenceLength: 4, minFrequency: 1));
        Assert.Equal(["<pad>", "<unk>", "red", "green", "blue"], vocabulary.Tokens);
        Assert.Equal([2, 3, 0, 0], vocabulary.Encode("Red, GREEN."));
        Assert.Equal([4, 1, 2, 3], vocabulary.Encode("blue purple red green blue red"));
        Assert.Equal([0, 0, 0, 0], vocabulary.Encode("!!!"));
    }

    [Fact]
    public void ASavedAndReloadedVocabularyTokenizesSampleTextsExactlyAsTheOriginal()
    {
        using var dir = new TempDirectory();
        var corpus = FortuneReader.Read(MiniFortunes, ["computers", "love", "startrek"]);
        var options = new TokenizerOptions(lowercase: false, stripPunctuation: false, sequenceLength: 37, maxSize: 300, minFrequency: 1);
        var trained = Vocabulary.Build(corpus.Texts, corpus.ClassNames, options);
        var path = Vocabulary.PathFor(dir.File("model.onnx"));
        Assert.Equal(dir.File("model.vocab.json"), path);
        trained.Save(path);
        var loaded = Vocabulary.Load(path);

        Assert.Equal(trained.Tokens, loaded.Tokens);
        Assert.Equal(trained.ClassNames, loaded.ClassNames);
        Assert.Equal(trained.Options.ToString(), loaded.Options.ToString());
        string[] samples = ["Beam me up, Scotty!", "Computers are USELESS. They can only give you answers. -- Picasso", "Love is... ünïcödé & <pad> <unk>", ""];
        foreach (var text in samples.Concat(corpus.Texts))
            Assert.Equal(trained.Encode(text), loaded.Encode(text));
        Assert.Equal(trained.Encode(corpus).Features.ToArray(), loaded.Encode(corpus).Features.ToArray());
    }

    [Fact]
    public void AVocabularyThatDoesNotMatchTheModelOrTheDataIsAClearError()
    {
        var vocabulary = Vocabulary.Build(["a b c a b c"], ["x", "y"], new TokenizerOptions(minFrequency: 1));
        var e = Assert.Throws<DataFormatException>(() => vocabulary.CheckEmbeddingRows(7, "m.vocab.json", "m.onnx"));
        Assert.Equal("m.vocab.json: the vocabulary has 5 tokens but the embedding table of m.onnx has 7 rows: it does not belong to this model", e.Message);
        vocabulary.CheckEmbeddingRows(5, "m.vocab.json", "m.onnx");

        var corpus = new TextCorpus(["a", "b"], [0, 1], ["y", "x"], "data.tsv", "TSV");
        Assert.Contains("are not the vocabulary's [x, y]", Assert.Throws<DataFormatException>(() => vocabulary.Encode(corpus)).Message);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"format\": \"other\"}", "not a Whittle vocabulary")]
    [InlineData("{\"format\": \"whittle-vocabulary\", \"version\": 1, \"lowercase\": true, \"stripPunctuation\": true, \"sequenceLength\": 5, \"maxSize\": 10, \"minFrequency\": 1, \"classes\": [\"a\", \"b\"], \"tokens\": [\"<unk>\", \"<pad>\"]}", "starts with <pad>")]
    [InlineData("{\"format\": \"whittle-vocabulary\", \"version\": 1, \"lowercase\": true, \"stripPunctuation\": true, \"sequenceLength\": 5, \"maxSize\": 10, \"minFrequency\": 1, \"classes\": [\"a\", \"b\"]}", "no \"tokens\"")]
    public void AMalformedVocabularyFileIsRejectedWithItsName(string content, string problem)
    {
        using var dir = new TempDirectory();
        var path = dir.WriteText("m.vocab.json", content);
        var e = Assert.Throws<DataFormatException>(() => Vocabulary.Load(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void TheTestSplitIsStratifiedDisjointAndFixedBySeed()
    {
        var corpus = FortuneReader.Read(MiniFortunes);
        var (train, test) = corpus.SplitTest(0.2, seed: 5);
        Assert.All(test.CountPerClass(), n => Assert.Equal(8, n));
        Assert.All(train.CountPerClass(), n => Assert.Equal(32, n));
        Assert.Empty(train.Texts.Zip(train.Labels).Intersect(test.Texts.Zip(test.Labels)));
        Assert.Equal(test.Texts, corpus.SplitTest(0.2, seed: 5).Test.Texts);
        Assert.NotEqual(test.Texts, corpus.SplitTest(0.2, seed: 6).Test.Texts);
    }
}
