using Whittle.Data;

namespace Whittle.Tests.Data;

/// <summary>WordPiece tokenization with a model's own vocab.txt (Microsoft.ML.Tokenizers' BertTokenizer).</summary>
public sealed class WordPieceVocabularyTests
{
    private static string Write(params string[] lines)
    {
        var path = Path.Combine(TestPaths.TempDir(), "vocab.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 the=5 cat=6 sat=7 on=8 mat=9 ##s=10 dog=11
    private static readonly string[] Tokens = TinyEncoder.Vocabulary(["the", "cat", "sat", "on", "mat", "##s", "dog"]);

    [Fact]
    public void TextsBecomeClsWordPiecesSepAndPadding()
    {
        var v = WordPieceVocabulary.Load(Write(Tokens));
        Assert.Equal(12, v.Size);
        Assert.Equal(0, v.PadId);
        // Lower-cased, "cats" split into cat ##s, "!" unknown.
        Assert.Equal([2, 5, 6, 10, 7, 8, 5, 9, 1, 3], v.Encode("The cats sat on the mat!", 10));
        Assert.Equal([2, 11, 3, 0, 0, 0], v.Encode("dog", 6));
        // Truncated: the first tokens, then [SEP].
        Assert.Equal([2, 5, 6, 10, 3], v.Encode("The cats sat on the mat!", 5));
    }

    [Fact]
    public void BadVocabulariesAreClearErrors()
    {
        var missing = Assert.Throws<DataFormatException>(() => WordPieceVocabulary.Load(Path.Combine(TestPaths.TempDir(), "vocab.txt")));
        Assert.Contains("does not exist", missing.Message);
        var notBert = Assert.Throws<DataFormatException>(() => WordPieceVocabulary.Load(Write("the", "cat", "[PAD]")));
        Assert.Contains("lacks [UNK], [CLS], [SEP]", notBert.Message);
    }

    [Fact]
    public void TheVocabularyIsFoundBesideTheModel()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "encoder.onnx");
        Assert.Null(WordPieceVocabulary.FindBeside(model));
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Tokens);
        Assert.Equal(Path.Combine(dir, "vocab.txt"), WordPieceVocabulary.FindBeside(model));
        File.WriteAllLines(Path.Combine(dir, "encoder.vocab.txt"), Tokens);
        Assert.Equal(Path.Combine(dir, "encoder.vocab.txt"), WordPieceVocabulary.FindBeside(model));
    }
}
