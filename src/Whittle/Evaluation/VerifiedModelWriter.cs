using Whittle.Data;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Evaluation;

/// <summary>What a model must show before it is written: it runs in ONNX Runtime and, given a reference, agrees with it.</summary>
public sealed class WriteVerification
{
    /// <summary>Validates and stores the check.</summary>
    /// <param name="reference">The model the output is compared with (the input model, or the float model); null only checks that the output runs.</param>
    /// <param name="inputs">The batches to compare on; null for generated inputs (batch 4, seed 0, ids within the embedding tables).</param>
    /// <param name="inputsDescription">Where <paramref name="inputs"/> came from, for the report.</param>
    /// <param name="maxAbsDifference">The largest absolute difference allowed on any output; null for no bound.</param>
    /// <param name="minCosine">The lowest mean cosine similarity allowed on any output; null for no bound.</param>
    /// <param name="runtime">ORT settings of the check; null for the default with graph optimizations off (so ORT's fusions do not hide a difference).</param>
    /// <exception cref="InvalidOptionException">A bound is negative or NaN, or a cosine bound is above 1.</exception>
    public WriteVerification(OnnxModel? reference = null, IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>>? inputs = null,
        string? inputsDescription = null, double? maxAbsDifference = null, double? minCosine = null, RuntimeOptions? runtime = null)
    {
        if (maxAbsDifference is { } m && !(m >= 0)) throw new InvalidOptionException(nameof(maxAbsDifference), $"the largest allowed difference must be 0 or more, not {m}");
        if (minCosine is { } c && !(c >= -1 && c <= 1)) throw new InvalidOptionException(nameof(minCosine), $"the cosine bound must be in [-1, 1], not {c}");
        if ((maxAbsDifference is not null || minCosine is not null) && reference is null)
            throw new InvalidOptionException(nameof(reference), "a difference or cosine bound needs a reference model");
        Reference = reference;
        Inputs = inputs;
        InputsDescription = inputsDescription ?? (inputs is null ? null : $"{inputs.Count} batch(es) of given inputs");
        MaxAbsDifference = maxAbsDifference;
        MinCosine = minCosine;
        Runtime = runtime ?? RuntimeOptions.Default.WithOptimization(GraphOptimization.Disabled);
    }

    /// <summary>The model the output is compared with, if any.</summary>
    public OnnxModel? Reference { get; }

    /// <summary>The comparison inputs; null for generated ones.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>>? Inputs { get; }

    /// <summary>Where the inputs came from.</summary>
    public string? InputsDescription { get; }

    /// <summary>The largest allowed absolute difference, if bounded.</summary>
    public double? MaxAbsDifference { get; }

    /// <summary>The lowest allowed mean cosine, if bounded.</summary>
    public double? MinCosine { get; }

    /// <summary>ORT settings of the check.</summary>
    public RuntimeOptions Runtime { get; }
}

/// <summary>
/// The one way Whittle writes a model: the output path must not be an input file (symbolic and
/// hard links resolved, the inputs' external data files included), the model must validate, load
/// and run in ONNX Runtime and agree with its reference within the bounds asked for; only then is
/// it written atomically (temporary file, then rename), so a failed check leaves an existing file
/// untouched. The file is self-contained (external data read in) unless it would exceed 2 GB, when
/// its data goes to its own file beside it (see <see cref="OnnxModel.Save"/>). A text model's
/// vocabulary is copied beside it. Every verb and job that writes a model goes through here.
/// </summary>
public static class VerifiedModelWriter
{
    /// <summary>Verifies <paramref name="model"/> and writes it to <paramref name="path"/>.</summary>
    /// <param name="model">The model to write.</param>
    /// <param name="path">Where to write it.</param>
    /// <param name="verification">What it must show first.</param>
    /// <param name="protectedPaths">Input files that must not be overwritten, besides the model's and the reference's own source files.</param>
    /// <returns>The comparison with the reference (or of the model with itself when there is none, which proves it runs).</returns>
    /// <exception cref="WhittleException">The path is an input, or the model is invalid, does not run, or disagrees with its reference; nothing is written.</exception>
    public static ComparisonReport Write(OnnxModel model, string path, WriteVerification verification, IEnumerable<string>? protectedPaths = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(verification);
        // The inputs are the files named and every external data file the model or its reference
        // reads; the outputs are the model and, when it is too large to be self-contained, its own
        // data file beside it.
        string?[] inputs = [.. protectedPaths ?? [], model.SourcePath, verification.Reference?.SourcePath,
            .. model.ExternalDataFiles, .. verification.Reference?.ExternalDataFiles ?? []];
        EnsureNotAnInput(path, inputs);
        if (model.SavesWithExternalData) EnsureNotAnInput(OnnxModel.ExternalDataPathFor(path), inputs);
        var report = Verify(model, path, verification);
        model.Save(path);
        CopySidecars(verification.Reference?.SourcePath ?? model.SourcePath, path);
        return report;
    }

    /// <summary>Runs the checks of <see cref="Write"/> without writing.</summary>
    /// <param name="model">The model to check.</param>
    /// <param name="label">Names the model in messages (usually its output path).</param>
    /// <param name="verification">What it must show.</param>
    public static ComparisonReport Verify(OnnxModel model, string label, WriteVerification verification)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(verification);
        model.Validate().ThrowIfInvalid(label);
        var reference = verification.Reference ?? model;
        ComparisonReport report;
        try
        {
            report = verification.Inputs is { } inputs
                ? ModelComparison.Compare(reference, model, inputs, verification.InputsDescription!, verification.Runtime)
                : ModelComparison.CompareOnGeneratedInputs(reference, model, runtime: verification.Runtime);
        }
        catch (RuntimeException e)
        {
            throw new RuntimeException($"{label}: not written: {e.Message}", e);
        }
        foreach (var o in report.Outputs)
        {
            if (verification.MaxAbsDifference is { } max && !(o.MaxAbsDifference <= max))
                throw new WhittleException($"{label}: not written: output '{o.Output}' differs from the reference by {o.MaxAbsDifference:G3} (> {max:G3}) on {report.Inputs}");
            if (verification.MinCosine is { } cos && !(o.Cosine >= cos))
                throw new WhittleException($"{label}: not written: output '{o.Output}' agrees poorly with the reference (mean cosine {o.Cosine:F3} < {cos}) on {report.Inputs}");
        }
        return report;
    }

    /// <summary>A text model's vocabulary travels with it, so the written model tokenizes exactly as its source did.</summary>
    private static void CopySidecars(string? source, string output)
    {
        if (source is null) return;
        var vocabulary = Vocabulary.PathFor(source);
        var target = Vocabulary.PathFor(output);
        if (File.Exists(vocabulary) && !FileIdentity.Same(vocabulary, target))
            AtomicFile.WriteAllBytes(target, File.ReadAllBytes(vocabulary));
        // A BERT model's WordPiece vocab.txt: beside the output as OUTPUT.vocab.txt, unless the output
        // sits in the same directory as a shared vocab.txt that it already finds.
        if (WordPieceVocabulary.FindBeside(source) is { } wordPiece && !(WordPieceVocabulary.FindBeside(output) is { } found && FileIdentity.Same(found, wordPiece)))
        {
            var beside = Path.ChangeExtension(output, null) + ".vocab.txt";
            if (!FileIdentity.Same(wordPiece, beside)) AtomicFile.WriteAllBytes(beside, File.ReadAllBytes(wordPiece));
        }
    }

    /// <summary>
    /// Throws when <paramref name="output"/> is one of <paramref name="inputs"/>: the same path,
    /// a symbolic link to it, or (on Linux, where the file's device and inode can be read) a hard
    /// link to it. Whittle never modifies an input file.
    /// </summary>
    /// <exception cref="InvalidOptionException">It is.</exception>
    public static void EnsureNotAnInput(string output, IEnumerable<string?> inputs)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var input in inputs)
        {
            if (input is null) continue;
            if (FileIdentity.Same(output, input))
                throw new InvalidOptionException("output", $"the output {output} is the input file {input}; Whittle never modifies an input file, so write somewhere else");
        }
    }
}
