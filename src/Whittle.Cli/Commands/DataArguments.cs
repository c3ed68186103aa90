using System.CommandLine;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;

namespace Whittle.Cli.Commands;

/// <summary>
/// The data options every verb that reads data shares: the dataset, tensor preprocessing, the text
/// classes and vocabulary, the fixed test split and the ranking protocol. One definition, so every
/// verb reads data the same way; the binding to a model is the library's (<see cref="ModelData"/>).
/// </summary>
internal sealed class DataArguments
{
    public Option<string> Data { get; }
    public Option<string?> Normalize { get; } = new("--normalize") { Description = "Per-channel normalisation after scaling: MEAN,STD (one channel) or M1,M2,..,S1,S2,.." };
    public Option<float?> Scale { get; } = new("--scale") { Description = "Divide raw features by this first (default: 255 for IDX image bytes, 1 otherwise)" };
    public Option<ModelTask?> Task { get; } = new("--task") { Description = "classification or ranking (default: from the data: text and tensors classify, interactions rank)" };
    public Option<string?> Categories { get; } = new("--categories") { Description = "fortunes: the categories (classes, in order), e.g. computers,education,food; default all (or the model's)" };
    public Option<int?> MaxLength { get; } = new("--max-length") { Description = $"Text: token ids per text, padded or truncated (new vocabularies; default {TokenizerOptions.DefaultSequenceLength})" };
    public Option<int?> MaxVocab { get; } = new("--max-vocab") { Description = $"Text: most vocabulary entries incl. <pad> and <unk> (new vocabularies; default {TokenizerOptions.DefaultMaxSize})" };
    public Option<int?> MinFreq { get; } = new("--min-freq") { Description = $"Text: fewest occurrences of a word in the training texts (new vocabularies; default {TokenizerOptions.DefaultMinFrequency})" };
    public Option<bool> KeepCase { get; } = new("--keep-case") { Description = "Text: do not lower-case (new vocabularies)" };
    public Option<bool> KeepPunctuation { get; } = new("--keep-punctuation") { Description = "Text: keep punctuation as tokens (new vocabularies)" };
    public Option<double> TestFraction { get; } = new("--test-fraction") { Description = "Text: the stratified share held out as the test split", DefaultValueFactory = _ => DataOptions.Default.TestFraction };
    public Option<int> SplitSeed { get; } = new("--split-seed") { Description = "Text and interactions: seed of the fixed test split (and of the ranking candidates)", DefaultValueFactory = _ => DataOptions.Default.SplitSeed };
    public Option<int> Negatives { get; } = new("--negatives") { Description = "Ranking: sampled negatives per test positive", DefaultValueFactory = _ => DataOptions.Default.Negatives };
    public Option<int> TrainNegatives { get; } = new("--train-negatives") { Description = "Ranking: sampled negatives per training positive", DefaultValueFactory = _ => DataOptions.Default.TrainNegatives };
    public Option<CsvHeader> CsvHeader { get; } = new("--csv-header") { Description = "CSV: is the first row a header? detect (only when no feature cell is a number), present or absent", DefaultValueFactory = _ => DataOptions.Default.CsvHeader };
    public Option<int> K { get; } = new("--k") { Description = "Ranking: the cut-off of HR@K and NDCG@K", DefaultValueFactory = _ => EvaluationOptions.Default.K };

    public DataArguments(string? defaultData)
    {
        Data = new Option<string>("--data", "-d")
        {
            Description = "Dataset: fashion-mnist (full set if installed, else bundled subset), fashion-mnist-mini, a directory of IDX files, idx:DIR, csv:FILE, npy:FEATURES[,LABELS], "
                + "text: fortunes[:DIR], text-tsv:FILE, text-folder:DIR; ranking: interactions:FILE, synthetic-recsys[:...]",
        };
        if (defaultData is not null) Data.DefaultValueFactory = _ => defaultData;
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Data, Normalize, Scale, CsvHeader, Task, Categories, MaxLength, MaxVocab, MinFreq, KeepCase, KeepPunctuation, TestFraction, SplitSeed, Negatives, TrainNegatives, K })
            command.Add(option);
    }

    /// <summary>The dataset spec given, or null when the option was not used and has no default.</summary>
    public string? SpecFrom(ParseResult parse) => parse.GetValue(Data);

    /// <summary>
    /// The family of the dataset the options name, for defaults that depend on it, before anything is
    /// read; <see cref="DatasetFamily.Tensors"/> when the spec does not parse (<see cref="Bind"/> reports that).
    /// </summary>
    public DatasetFamily FamilyFrom(ParseResult parse)
    {
        if (SpecFrom(parse) is not { } text) return DatasetFamily.Tensors;
        try
        {
            return ParseSpec(text).Family;
        }
        catch (WhittleException)
        {
            return DatasetFamily.Tensors;
        }
    }

    private static DatasetSpec ParseSpec(string text) =>
        DatasetSpec.Parse(!text.Contains(':') && text.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? "npy:" + text : text);

    /// <summary>The ranking cut-off.</summary>
    public int KFrom(ParseResult parse) => parse.GetValue(K);

    /// <summary>How to read the data, from the options; <paramref name="sequenceLength"/> (the verb's --seq-len) sets the WordPiece text length.</summary>
    public DataOptions OptionsFrom(ParseResult parse, int? sequenceLength = null)
    {
        float[]? mean = null, std = null;
        if (parse.GetValue(Normalize) is { } normalize)
        {
            var values = CliParsing.Floats(normalize, "--normalize");
            if (values.Length % 2 != 0) throw new UsageException("--normalize takes MEAN,STD pairs: as many means as stds");
            (mean, std) = (values[..(values.Length / 2)], values[(values.Length / 2)..]);
        }
        var categories = parse.GetValue(Categories) is { } text ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;
        return CliParsing.Library(() => new DataOptions(parse.GetValue(Scale), mean, std, categories,
                new TokenizerOptions(
                    lowercase: !parse.GetValue(KeepCase),
                    stripPunctuation: !parse.GetValue(KeepPunctuation),
                    sequenceLength: parse.GetValue(MaxLength) ?? TokenizerOptions.DefaultSequenceLength,
                    maxSize: parse.GetValue(MaxVocab) ?? TokenizerOptions.DefaultMaxSize,
                    minFrequency: parse.GetValue(MinFreq) ?? TokenizerOptions.DefaultMinFrequency),
                parse.GetValue(TestFraction), parse.GetValue(SplitSeed), parse.GetValue(Negatives), parse.GetValue(TrainNegatives), parse.GetValue(CsvHeader),
                sequenceLength ?? DataOptions.Default.SubwordLength),
            ("Scale", "--scale"), ("Mean", "--normalize"), ("Std", "--normalize"), ("Categories", "--categories"), ("TestFraction", "--test-fraction"),
            ("Negatives", "--negatives"), ("TrainNegatives", "--train-negatives"), ("sequenceLength", "--max-length"), ("maxSize", "--max-vocab"), ("minFrequency", "--min-freq"),
            ("SubwordLength", "--seq-len"));
    }

    /// <summary>Binds the dataset the options name to <paramref name="model"/>, checking --task against the data; <paramref name="sequenceLength"/> is the verb's --seq-len.</summary>
    public BoundData Bind(ParseResult parse, OnnxModel model, bool buildVocabulary = false, int? sequenceLength = null)
    {
        var text = SpecFrom(parse) ?? throw new UsageException("--data is required");
        var options = OptionsFrom(parse, sequenceLength);
        var spec = ParseSpec(text);
        var natural = ModelData.TaskOf(spec);
        if (parse.GetValue(Task) is { } task && task != natural)
            throw new UsageException($"--task {task.ToString().ToLowerInvariant()}: {spec} is {(natural == ModelTask.Ranking ? "recommender interaction data, which is ranked" : "labelled data, which is classified")}");
        return ModelData.Bind(model, spec, options, buildVocabulary);
    }
}
