using System.CommandLine;
using Whittle.Data;
using Whittle.Evaluation;

namespace Whittle.Cli.Commands;

/// <summary>Which task <c>--task</c> names: class labels, or ranking items for users.</summary>
public enum TaskChoice { Classification, Ranking }

/// <summary>The text and recommender settings a command read from its options.</summary>
internal sealed record TaskDataSettings(TaskChoice? Task, string[]? Categories, TokenizerOptions Tokenizer, double TestFraction, int SplitSeed,
    int Negatives, int TrainNegatives, int K);

/// <summary>
/// The options shared by train, eval and zoo create for text and recommender data: the task, the
/// fortune categories, how a vocabulary is built, the fixed test split, and the sampled-candidate
/// protocol. One definition, so every verb reads text and interactions the same way.
/// </summary>
internal sealed class TaskDataArguments
{
    public Option<TaskChoice?> Task { get; } = new("--task") { Description = "classification or ranking (default: from the data: text and tensors classify, interactions rank)" };
    public Option<string?> Categories { get; } = new("--categories") { Description = "fortunes: the categories (classes, in order), e.g. computers,education,food; default all (or the model's)" };
    public Option<int?> MaxLength { get; } = new("--max-length") { Description = $"Text: token ids per text, padded or truncated (new vocabularies; default {TokenizerOptions.DefaultSequenceLength})" };
    public Option<int?> MaxVocab { get; } = new("--max-vocab") { Description = $"Text: most vocabulary entries incl. <pad> and <unk> (new vocabularies; default {TokenizerOptions.DefaultMaxSize})" };
    public Option<int?> MinFreq { get; } = new("--min-freq") { Description = $"Text: fewest occurrences of a word in the training texts (new vocabularies; default {TokenizerOptions.DefaultMinFrequency})" };
    public Option<bool> KeepCase { get; } = new("--keep-case") { Description = "Text: do not lower-case (new vocabularies)" };
    public Option<bool> KeepPunctuation { get; } = new("--keep-punctuation") { Description = "Text: keep punctuation as tokens (new vocabularies)" };
    public Option<double> TestFraction { get; } = new("--test-fraction") { Description = "Text: the stratified share held out as the test split", DefaultValueFactory = _ => TextCorpus.DefaultTestFraction };
    public Option<int> SplitSeed { get; } = new("--split-seed") { Description = "Text and interactions: seed of the fixed test split (and of the ranking candidates)", DefaultValueFactory = _ => TextCorpus.DefaultSplitSeed };
    public Option<int> Negatives { get; } = new("--negatives") { Description = "Ranking: sampled negatives per test positive", DefaultValueFactory = _ => RankingCandidates.DefaultNegatives };
    public Option<int> TrainNegatives { get; } = new("--train-negatives") { Description = "Ranking: sampled negatives per training positive", DefaultValueFactory = _ => ImplicitFeedback.DefaultNegatives };
    public Option<int> K { get; } = new("--k") { Description = "Ranking: the cut-off of HR@K and NDCG@K", DefaultValueFactory = _ => RankingMetrics.DefaultK };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Task, Categories, MaxLength, MaxVocab, MinFreq, KeepCase, KeepPunctuation, TestFraction, SplitSeed, Negatives, TrainNegatives, K })
            command.Add(option);
    }

    public TaskDataSettings Read(ParseResult parse)
    {
        if (parse.GetValue(TestFraction) is var f && !(f > 0 && f < 1)) throw new UsageException("--test-fraction must be a fraction between 0 and 1");
        if (parse.GetValue(Negatives) < 1) throw new UsageException("--negatives must be at least 1");
        if (parse.GetValue(TrainNegatives) < 1) throw new UsageException("--train-negatives must be at least 1");
        if (parse.GetValue(K) < 1) throw new UsageException("--k must be at least 1");
        TokenizerOptions tokenizer;
        try
        {
            tokenizer = new TokenizerOptions(
                lowercase: !parse.GetValue(KeepCase),
                stripPunctuation: !parse.GetValue(KeepPunctuation),
                sequenceLength: parse.GetValue(MaxLength) ?? TokenizerOptions.DefaultSequenceLength,
                maxSize: parse.GetValue(MaxVocab) ?? TokenizerOptions.DefaultMaxSize,
                minFrequency: parse.GetValue(MinFreq) ?? TokenizerOptions.DefaultMinFrequency);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new UsageException($"text options: {e.Message.Split(" (Parameter")[0]} ({e.ParamName} = {e.ActualValue})");
        }
        var categories = parse.GetValue(Categories) is { } text
            ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : null;
        return new TaskDataSettings(parse.GetValue(Task), categories, tokenizer, parse.GetValue(TestFraction), parse.GetValue(SplitSeed),
            parse.GetValue(Negatives), parse.GetValue(TrainNegatives), parse.GetValue(K));
    }
}
