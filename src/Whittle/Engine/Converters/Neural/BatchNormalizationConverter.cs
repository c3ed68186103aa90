using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// BatchNormalization: scale * (x - mean) / sqrt(var + epsilon) + bias per channel (dimension 1).
/// In eval mode mean and var are the running statistics (inputs 3 and 4). In training mode —
/// the module's, or the node's own training_mode=1 — they are the batch statistics; in the
/// module's training mode the running statistics are also updated in place,
/// running = running * momentum + batch * (1 - momentum) (ONNX's momentum; torch's is 1 - it).
/// With training_mode=1 (opset 14+) the node's optional outputs 1 and 2 are those updated
/// running statistics, computed as ONNX defines them (population variance). Before opset 7,
/// is_test=0 puts the node in training mode as training_mode=1 does.
/// </summary>
[OnnxOp("BatchNormalization", 1)]
[OnnxOp("BatchNormalization", 6)]
[OnnxOp("BatchNormalization", 7)]
[OnnxOp("BatchNormalization", 9)]
[OnnxOp("BatchNormalization", 14)]
[OnnxOp("BatchNormalization", 15)]
internal sealed class BatchNormalizationConverter : IOpConverter
{
    public InputRole RoleOf(int index, OpContext context) => index is 3 or 4 ? InputRole.RunningStatistic : InputRole.Data;

    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        if (context.SinceVersion <= 7 && node.GetInt("spatial", 1) == 0)
            yield return "spatial=0 (statistics per activation instead of per channel) is not supported";
        bool extraOutputs = node.Outputs.Skip(1).Any(o => o.Length > 0);
        if (context.SinceVersion < 14)
        {
            if (extraOutputs)
                yield return "the training-form outputs (mean, var, saved_mean, saved_var) of BatchNormalization before opset 14 are not supported";
        }
        else
        {
            long mode = node.GetInt("training_mode", 0);
            if (mode is not (0 or 1)) yield return $"training_mode must be 0 or 1, it is {mode}";
            else if (mode == 0 && extraOutputs) yield return "outputs running_mean/running_var need training_mode=1";
        }
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        double epsilon = node.GetFloat("epsilon", 1e-5f);
        double momentum = node.GetFloat("momentum", 0.9f);
        bool nodeTrainingMode = context.SinceVersion switch
        {
            >= 14 => node.GetInt("training_mode", 0) == 1,
            < 7 => node.GetInt("is_test", 0) == 0,
            _ => false,
        };
        bool statisticsOutputs = nodeTrainingMode && node.Outputs.Skip(1).Any(o => o.Length > 0);
        return new LambdaKernel((inputs, training) =>
        {
            var (x, scale, bias, mean, variance) = (inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, inputs[4]!);
            scale = As(scale, x.dtype);
            bias = As(bias, x.dtype);
            if (!training && !nodeTrainingMode)
                return [F.batch_norm(x, As(mean, x.dtype), As(variance, x.dtype), scale, bias, training: false, eps: epsilon)];

            // Computed before the in-place update below changes mean and variance.
            Tensor? newMean = null, newVariance = null;
            if (statisticsOutputs) (newMean, newVariance) = UpdatedStatistics(x, mean, variance, momentum);

            Tensor y = training
                ? BatchNormUpdatingStatistics(x, mean, variance, scale, bias, momentum, epsilon)
                : F.batch_norm(x, null, null, scale, bias, training: true, eps: epsilon);
            return [y, newMean, newVariance];
        });
    }

    /// <summary>Batch-statistics normalization that also moves the running statistics toward the batch's.</summary>
    private static Tensor BatchNormUpdatingStatistics(Tensor x, Tensor mean, Tensor variance, Tensor scale, Tensor bias, double momentum, double epsilon)
    {
        double torchMomentum = 1 - momentum;
        if (mean.dtype == x.dtype && variance.dtype == x.dtype)
            return F.batch_norm(x, mean, variance, scale, bias, training: true, momentum: torchMomentum, eps: epsilon);
        // BatchNormalization-15 allows statistics in another type than x; torch updates only same-typed buffers.
        var m = mean.to_type(x.dtype);
        var v = variance.to_type(x.dtype);
        var y = F.batch_norm(x, m, v, scale, bias, training: true, momentum: torchMomentum, eps: epsilon);
        using (no_grad())
        {
            mean.copy_(m);
            variance.copy_(v);
        }
        return y;
    }

    /// <summary>ONNX's running_mean/running_var outputs: running * momentum + batch * (1 - momentum), batch variance biased.</summary>
    private static (Tensor Mean, Tensor Variance) UpdatedStatistics(Tensor x, Tensor mean, Tensor variance, double momentum)
    {
        using var _ = no_grad();
        var dims = Enumerable.Range(0, (int)x.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
        var batchMean = x.mean(dims).to_type(mean.dtype);
        var batchVariance = x.var(dims, unbiased: false).to_type(variance.dtype);
        return (mean * momentum + batchMean * (1 - momentum), variance * momentum + batchVariance * (1 - momentum));
    }

    private static Tensor As(Tensor t, ScalarType type) => t.dtype == type ? t : t.to_type(type);
}
