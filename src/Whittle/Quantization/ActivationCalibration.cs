using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>
/// Runs the float model in ONNX Runtime over calibration batches and feeds every requested
/// activation to a streaming calibrator, in one pass: memory depends on one batch's activations
/// and the calibrators' fixed-size state, never on the number of samples.
/// </summary>
public static class ActivationCalibration
{
    /// <summary>
    /// Ranges for <paramref name="tensors"/> (float values of <paramref name="model"/>; values that turn
    /// out not to be float are left out). <paramref name="progress"/> receives the batches done.
    /// </summary>
    /// <exception cref="QuantizationException">No batch was given, or an activation holds NaN or infinity.</exception>
    /// <exception cref="InvalidOptionException">The options are invalid.</exception>
    public static IReadOnlyDictionary<string, CalibratedRange> Run(OnnxModel model, IReadOnlyCollection<string> tensors,
        IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches, StaticQuantizationOptions options,
        IProgress<int>? progress = null, RuntimeOptions? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var names = tensors.Distinct().ToList();
        var graphInputs = model.Graph.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var calibrators = new Dictionary<string, ITensorCalibrator>(StringComparer.Ordinal);
        using var session = new OnnxRuntimeSession(IntermediateCapture.WithOutputs(model, names.Where(n => !graphInputs.Contains(n))), runtime);
        var requested = names.Where(n => !graphInputs.Contains(n)).ToList();
        int done = 0;
        foreach (var batch in batches)
        {
            var outputs = session.Run(batch, requested);
            foreach (var name in names)
            {
                var value = graphInputs.Contains(name) ? batch.GetValueOrDefault(name) : outputs[name];
                if (value is null || value.ElementType != OnnxDataType.Float) continue;
                var data = (float[])value.Data;
                foreach (var v in data)
                    if (!float.IsFinite(v))
                        throw new QuantizationException($"calibration batch {done + 1}: '{name}' holds {v}; the float model produces non-finite values on this data");
                if (!calibrators.TryGetValue(name, out var c)) calibrators[name] = c = CreateCalibrator(name, options);
                c.Add(data);
            }
            done++;
            progress?.Report(done);
        }
        if (done == 0) throw new QuantizationException("calibration needs at least one batch of data");
        return calibrators.ToDictionary(p => p.Key, p => p.Value.Range, StringComparer.Ordinal);
    }

    /// <summary>Splits single-input float samples into calibration batches for the model's input.</summary>
    /// <param name="inputName">The model input the samples feed.</param>
    /// <param name="features">Samples, row-major, each of <paramref name="sampleShape"/>.</param>
    /// <param name="sampleShape">Shape of one sample, without the batch dimension.</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="maxSamples">Use at most this many samples (the first ones).</param>
    public static IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> Batches(string inputName, ReadOnlyMemory<float> features,
        int[] sampleShape, int batchSize, int maxSamples)
    {
        int size = sampleShape.Aggregate(1, (a, b) => a * b);
        int count = Math.Min(features.Length / size, maxSamples);
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            long[] shape = [n, .. sampleShape.Select(d => (long)d)];
            yield return new Dictionary<string, RuntimeTensor>
            {
                [inputName] = RuntimeTensor.FromFloats(features.Slice(start * size, n * size).ToArray(), shape),
            };
        }
    }

    private static ITensorCalibrator CreateCalibrator(string tensor, StaticQuantizationOptions options)
    {
        if (options.Calibrator is { } custom)
            return custom.Create(tensor, options)
                ?? throw new InvalidOperationException($"the calibrator '{custom.Name}' returned no calibrator for '{tensor}'");
        return BuiltInCalibrator(options);
    }

    private static ITensorCalibrator BuiltInCalibrator(StaticQuantizationOptions options) => options.Calibration switch
    {
        CalibrationMethod.Percentile => TensorCalibrators.Create(options.Calibration, percentile: options.Percentile),
        // The MSE trade-off between rounding and clipping depends on how many steps the activation type has.
        CalibrationMethod.Mse => TensorCalibrators.Create(options.Calibration, mseLevels: MseCalibrator.LevelsFor(options.ActivationType, options.SymmetricActivations)),
        _ => TensorCalibrators.Create(options.Calibration),
    };
}
