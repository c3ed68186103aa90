using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Whittle.Onnx;

namespace Whittle.Training;

/// <summary>
/// The per-epoch history of a run as JSON and CSV. A <see cref="Trainer"/> with a run directory
/// rewrites <see cref="JsonFileName"/> and <see cref="CsvFileName"/> there, atomically, after every epoch.
/// </summary>
public static class TrainingHistory
{
    /// <summary>The history's JSON file name in a run directory.</summary>
    public const string JsonFileName = "history.json";

    /// <summary>The history's CSV file name in a run directory.</summary>
    public const string CsvFileName = "history.csv";

    /// <summary>The CSV header, in column order.</summary>
    public const string CsvHeader = "epoch,train_loss,validation_loss,validation_accuracy,validation_macro_f1,learning_rate,seconds,steps,samples_per_second";

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The records as an indented JSON array of camelCase objects; missing validation values are null.</summary>
    /// <param name="records">The history, oldest first.</param>
    public static string ToJson(IEnumerable<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return JsonSerializer.Serialize(records.ToArray(), JsonOptions);
    }

    /// <summary>Reads records written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    public static IReadOnlyList<EpochRecord> FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<EpochRecord[]>(json, JsonOptions) ?? [];
    }

    /// <summary>
    /// The records as CSV with the <see cref="CsvHeader"/> columns, invariant culture,
    /// round-trippable numbers, and empty cells for missing validation values.
    /// </summary>
    /// <param name="records">The history, oldest first.</param>
    public static string ToCsv(IEnumerable<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (EpochRecord r in records)
        {
            text.Append(r.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Number(r.TrainingLoss)).Append(',')
                .Append(Number(r.ValidationLoss)).Append(',')
                .Append(Number(r.ValidationAccuracy)).Append(',')
                .Append(Number(r.ValidationMacroF1)).Append(',')
                .Append(Number(r.LearningRate)).Append(',')
                .Append(Number(r.Seconds)).Append(',')
                .Append(r.Steps.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Number(r.SamplesPerSecond)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Writes <see cref="JsonFileName"/> and <see cref="CsvFileName"/> into <paramref name="directory"/>, each atomically.</summary>
    /// <param name="directory">An existing directory.</param>
    /// <param name="records">The history, oldest first.</param>
    public static void Write(string directory, IReadOnlyList<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, JsonFileName), ToJson(records));
        AtomicFile.WriteAllText(Path.Combine(directory, CsvFileName), ToCsv(records));
    }

    private static string Number(double? value) => value is double v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
