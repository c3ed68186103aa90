using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>InstanceNormalization: scale * (x - mean) / sqrt(var + epsilon) + B, statistics per sample and channel over the spatial dimensions.</summary>
[OnnxOp("InstanceNormalization", 1)]
[OnnxOp("InstanceNormalization", 6)]
[OnnxOp("InstanceNormalization", 22)]
internal sealed class InstanceNormalizationConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context)
    {
        double epsilon = context.Node.GetFloat("epsilon", 1e-5f);
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            if (x.dim() < 3) throw new EngineException($"InstanceNormalization: input must have rank 3 or more (N, C, D1, ...), it has rank {x.dim()}");
            return F.instance_norm(x, weight: inputs[1]!, bias: inputs[2]!, use_input_stats: true, eps: epsilon);
        });
    }
}
