using System.Text;
using System.Text.Json;
using Whittle.Onnx;

namespace Whittle.Training;

/// <summary>What a run directory's checkpoint says about the run, without its weights.</summary>
/// <param name="CompletedEpochs">Epochs finished when it was written.</param>
/// <param name="GlobalStep">Optimizer steps taken when it was written.</param>
/// <param name="Finished">True when the run had ended (all epochs, or early stopping).</param>
/// <param name="StopReason">Why the run ended, or null while it was still going.</param>
/// <param name="Monitor">The metric that picks the best epoch.</param>
/// <param name="MonitorMode">Whether smaller or larger monitored values are better.</param>
/// <param name="BestEpoch">The best epoch so far, 1-based.</param>
/// <param name="BestValue">Its monitored value.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="NextEpochShuffleSeed">The data-order seed of the epoch a resume starts with.</param>
/// <param name="NextEpochTorchSeed">The TorchSharp generator seed of the epoch a resume starts with.</param>
/// <param name="LearningRateMultiplier">The plateau reduction in force (1 without one).</param>
/// <param name="History">One record per finished epoch.</param>
/// <param name="Options">The run's settings, as (name, value) text.</param>
public sealed record CheckpointInfo(
    int CompletedEpochs,
    long GlobalStep,
    bool Finished,
    StopReason? StopReason,
    TrainingMetric Monitor,
    MetricMode MonitorMode,
    int BestEpoch,
    double BestValue,
    int Seed,
    int NextEpochShuffleSeed,
    long NextEpochTorchSeed,
    double LearningRateMultiplier,
    IReadOnlyList<EpochRecord> History,
    IReadOnlyDictionary<string, string> Options);

/// <summary>
/// The one-file checkpoint of a run: metadata (JSON), the module's state, the optimizer's state
/// and the best epoch's weights, written with <see cref="AtomicFile"/> so that a crash leaves
/// either the previous checkpoint or the new one, never a mix of epochs.
/// </summary>
/// <remarks>
/// Layout: the ASCII magic <c>WHITTLE-CHECKPOINT</c>, an int32 format version, then four
/// length-prefixed (int64) sections: UTF-8 JSON of <see cref="CheckpointInfo"/>, TorchSharp
/// <c>Module.save</c> bytes, TorchSharp <c>OptimizerHelper.save_state_dict</c> bytes, and
/// <c>Module.save</c> bytes of the best weights (empty when none were kept).
/// </remarks>
public static class TrainingCheckpoint
{
    /// <summary>The checkpoint's file name in a run directory.</summary>
    public const string FileName = "checkpoint.bin";

    private const int FormatVersion = 1;
    private static readonly byte[] Magic = "WHITTLE-CHECKPOINT"u8.ToArray();

    /// <summary>True when <paramref name="runDirectory"/> holds a checkpoint.</summary>
    /// <param name="runDirectory">A run directory.</param>
    public static bool Exists(string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        return File.Exists(Path.Combine(runDirectory, FileName));
    }

    /// <summary>The metadata of the checkpoint in <paramref name="runDirectory"/>.</summary>
    /// <param name="runDirectory">A run directory with a checkpoint.</param>
    /// <exception cref="TrainingException">There is no checkpoint, or it is not one this version can read.</exception>
    public static CheckpointInfo ReadInfo(string runDirectory) => Read(runDirectory).Info;

    internal static string PathIn(string runDirectory) => Path.Combine(runDirectory, FileName);

    /// <summary>
    /// Writes the checkpoint straight into the file: the module's and the optimizer's state are
    /// streamed by <paramref name="writeModel"/> and <paramref name="writeOptimizer"/> instead of
    /// being serialized into byte arrays first. Those arrays (and the growing buffers behind
    /// them) came to about twenty times the model's size in large-object garbage every epoch,
    /// which only a full collection reclaims, so a long run's resident memory kept growing.
    /// </summary>
    internal static void Write(string runDirectory, CheckpointInfo info, Action<BinaryWriter> writeModel, Action<BinaryWriter> writeOptimizer, byte[]? bestModelState)
    {
        AtomicFile.Write(PathIn(runDirectory), stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(FormatVersion);
            WriteSection(writer, JsonSerializer.SerializeToUtf8Bytes(info, TrainingHistory.JsonOptions));
            WriteSection(writer, writeModel);
            WriteSection(writer, writeOptimizer);
            WriteSection(writer, bestModelState ?? []);
        });
    }

    internal static CheckpointContents Read(string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        string path = PathIn(runDirectory);
        if (!File.Exists(path)) throw new TrainingException($"There is no checkpoint to resume from: {path} does not exist.");
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new TrainingException($"{path} is not a Whittle training checkpoint.");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new TrainingException($"{path} has checkpoint format {version}; this version of Whittle reads format {FormatVersion}.");
            var info = JsonSerializer.Deserialize<CheckpointInfo>(ReadSection(reader), TrainingHistory.JsonOptions)
                ?? throw new TrainingException($"{path} has empty metadata.");
            byte[] model = ReadSection(reader);
            byte[] optimizer = ReadSection(reader);
            byte[] best = ReadSection(reader);
            return new CheckpointContents(info, model, optimizer, best.Length == 0 ? null : best);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or IOException)
        {
            throw new TrainingException($"{path} cannot be read as a checkpoint: {e.Message}", e);
        }
    }

    private static void WriteSection(BinaryWriter writer, byte[] bytes)
    {
        writer.Write((long)bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>A section of unknown length: a placeholder length, the content, then the length written over the placeholder.</summary>
    private static void WriteSection(BinaryWriter writer, Action<BinaryWriter> write)
    {
        writer.Write(0L);
        writer.Flush();
        long start = writer.BaseStream.Position;
        write(writer);
        writer.Flush();
        long end = writer.BaseStream.Position;
        writer.BaseStream.Position = start - sizeof(long);
        writer.Write(end - start);
        writer.Flush();
        writer.BaseStream.Position = end;
    }

    private static byte[] ReadSection(BinaryReader reader)
    {
        long length = reader.ReadInt64();
        if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new EndOfStreamException($"a section claims {length} bytes, more than the file has left");
        return reader.ReadBytes((int)length);
    }
}

/// <summary>Everything a checkpoint holds.</summary>
internal sealed record CheckpointContents(CheckpointInfo Info, byte[] ModelState, byte[] OptimizerState, byte[]? BestModelState);
