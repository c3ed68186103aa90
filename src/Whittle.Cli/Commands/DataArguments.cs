using System.CommandLine;
using Whittle.Data;

namespace Whittle.Cli.Commands;

/// <summary>
/// The data options shared by eval, check and train: which dataset, which split, and the
/// preprocessing (scale, then per-channel normalisation). One definition, so every verb
/// reads data the same way.
/// </summary>
internal sealed class DataArguments
{
    public Option<string> Data { get; }
    public Option<string?> Normalize { get; } = new("--normalize") { Description = "Per-channel normalisation after scaling: MEAN,STD (one channel) or M1,M2,..,S1,S2,.." };
    public Option<float?> Scale { get; } = new("--scale") { Description = "Divide raw features by this first (default: 255 for IDX image bytes, 1 otherwise)" };

    public DataArguments(string? defaultData)
    {
        Data = new Option<string>("--data", "-d")
        {
            Description = "Dataset: fashion-mnist (full set if installed, else bundled subset), fashion-mnist-mini, a directory of IDX files, idx:DIR, csv:FILE, npy:FEATURES[,LABELS]",
        };
        if (defaultData is not null) Data.DefaultValueFactory = _ => defaultData;
    }

    public void AddTo(Command command)
    {
        command.Add(Data);
        command.Add(Normalize);
        command.Add(Scale);
    }

    /// <summary>The spec given, or null when the option was not used and has no default.</summary>
    public string? SpecFrom(ParseResult parse) => parse.GetValue(Data);

    /// <summary>Loads a split of the dataset with the preprocessing the options describe.</summary>
    public static LoadedDataset Load(string specText, DatasetSplit? requested, string? normalize, float? scale)
    {
        var spec = DatasetSpec.Parse(specText);
        var source = spec.Open();
        var split = requested ?? (source.HasTestSplit ? DatasetSplit.Test : DatasetSplit.Train);
        if (split == DatasetSplit.Test && !source.HasTestSplit)
            throw new UsageException($"--split test: {source.Description} has no test split");
        return source.Load(split, Preprocessing(spec, normalize, scale));
    }

    /// <summary>IDX image bytes are scaled by 1/255 unless told otherwise; CSV and NPY are used as they are.</summary>
    public static Preprocessing Preprocessing(DatasetSpec spec, string? normalize, float? scale)
    {
        bool imageBytes = spec.Kind is "fashion-mnist" or "fashion-mnist-mini" or "idx";
        var preprocessing = new Preprocessing(divisor: scale ?? (imageBytes ? 255f : 1f));
        if (normalize is null) return preprocessing;
        var values = CliParsing.Floats(normalize, "--normalize");
        if (values.Length % 2 != 0) throw new UsageException("--normalize takes MEAN,STD pairs: as many means as stds");
        return preprocessing.Normalize(values[..(values.Length / 2)], values[(values.Length / 2)..]);
    }
}
