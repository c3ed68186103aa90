using Whittle.Data;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>
/// The teacher of a distillation: any ONNX model with the student's input and class count, run
/// without gradients in ONNX Runtime on every training batch. ONNX Runtime rather than the Engine,
/// because inference is all a teacher does and ORT's fused CPU kernels do it several times faster
/// than the Engine's forward pass (measured in <c>bench distill</c>); its spinning threads are
/// turned off so they do not take the cores from libtorch's backward pass between batches.
/// Intermediate values (feature distillation) are extra outputs of a copy of the model.
/// </summary>
public sealed class Teacher : IDisposable
{
    private readonly OnnxRuntimeSession _session;
    private readonly string _input;
    private readonly OnnxDataType _inputType;
    private readonly string[] _outputs;

    /// <summary>Opens <paramref name="model"/> (not modified) in ONNX Runtime.</summary>
    /// <param name="model">The teacher: one input, its first output the class logits [batch, classes].</param>
    /// <param name="featureValues">Intermediate values to return after the logits (feature distillation); null for none.</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0 = its default).</param>
    /// <exception cref="InvalidOptionException">The model has more than one input.</exception>
    public Teacher(OnnxModel model, IReadOnlyList<string>? featureValues = null, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        Label = model.SourcePath ?? model.Graph.Name;
        var inputs = model.Graph.Inputs;
        if (inputs.Count != 1)
            throw new InvalidOptionException("teacher", $"{Label}: a teacher needs one input, it has {inputs.Count} ({string.Join(", ", inputs.Select(i => i.Name))})");
        _input = inputs[0].Name;
        _inputType = inputs[0].ElementType;
        FeatureValues = featureValues?.ToArray() ?? [];
        var logits = model.Graph.Outputs[0].Name;
        _outputs = [logits, .. FeatureValues];
        var runnable = FeatureValues.Count == 0 ? model : IntermediateCapture.WithOutputs(model, FeatureValues);
        _session = new OnnxRuntimeSession(runnable, new RuntimeOptions(intraOpThreads: threads, allowSpinning: false));
    }

    /// <summary>The teacher's file or graph name, for messages.</summary>
    public string Label { get; }

    /// <summary>The intermediate values returned after the logits.</summary>
    public IReadOnlyList<string> FeatureValues { get; }

    /// <summary>
    /// Checks up front that the teacher can teach this student on this data: the same input (name
    /// aside: element type and sample shape) and logits over the same number of classes. Every
    /// mismatch is reported at once.
    /// </summary>
    /// <param name="student">The student model.</param>
    /// <param name="sample">A few samples of the data (the class count and one batch are checked by running it).</param>
    /// <exception cref="InvalidOptionException">The teacher does not fit.</exception>
    public void CheckFits(OnnxModel student, TensorDataset sample)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(sample);
        var problems = new List<string>();
        var s = student.Graph.Inputs[0];
        if (s.ElementType != _inputType)
            problems.Add($"its input is {_inputType}, the student's {s.ElementType}");
        var teacherShape = _session.Inputs[0].Shape.Skip(1).ToArray();
        var dataShape = sample.SampleShape.Select(d => (long)d).ToArray();
        if (teacherShape.Length != dataShape.Length || teacherShape.Zip(dataShape).Any(p => p.First >= 0 && p.First != p.Second))
            problems.Add($"it takes samples of [{string.Join(",", teacherShape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}], the data has [{string.Join(",", dataShape)}]");
        if (problems.Count == 0)
        {
            var batch = sample.Take(Math.Min(2, sample.Count));
            using var scope = NewDisposeScope();
            var x = tensor(batch.Features.ToArray(), [batch.Count, .. dataShape]);
            var logits = Run(x)[0];
            long classes = logits.Dimensions == 2 ? logits.shape[1] : -1;
            if (logits.Dimensions != 2) problems.Add($"its first output has shape [{string.Join(",", logits.shape)}], not [batch, classes]");
            else if (classes != sample.ClassCount) problems.Add($"it scores {classes} classes, the data has {sample.ClassCount}");
        }
        if (problems.Count > 0)
            throw new InvalidOptionException("teacher", $"{Label} cannot teach {student.SourcePath ?? student.Graph.Name}: {string.Join("; ", problems)}");
    }

    /// <summary>The teacher's logits [batch, classes] and then its <see cref="FeatureValues"/>, as float32 tensors without gradients.</summary>
    /// <param name="input">The batch as the student gets it (float32; token ids are cast to the teacher's integer type).</param>
    public Tensor[] Run(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long[] shape = input.shape;
        RuntimeTensor feed;
        using (var cpu = input.detach().cpu())
        {
            feed = _inputType switch
            {
                OnnxDataType.Int64 => RuntimeTensor.FromInt64s(cpu.to_type(ScalarType.Int64).data<long>().ToArray(), shape),
                OnnxDataType.Int32 => RuntimeTensor.FromInt32s(cpu.to_type(ScalarType.Int32).data<int>().ToArray(), shape),
                _ => RuntimeTensor.FromFloats(cpu.to_type(ScalarType.Float32).data<float>().ToArray(), shape),
            };
        }
        var results = _session.Run(new Dictionary<string, RuntimeTensor> { [_input] = feed }, _outputs);
        var outputs = new Tensor[_outputs.Length];
        for (int i = 0; i < _outputs.Length; i++)
        {
            var r = results[_outputs[i]];
            outputs[i] = tensor(r.AsFloats(), r.Shape, device: input.device);
        }
        return outputs;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
