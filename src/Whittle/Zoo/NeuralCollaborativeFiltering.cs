using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// Neural collaborative filtering, NeuMF (He et al., 2017): a generalized matrix factorization
/// tower (the element-wise product of user and item embeddings) and an MLP tower (their
/// concatenation through Linear-ReLU layers), each with its own embeddings, joined by a linear
/// layer to one logit. Inputs: int64 <c>user</c> [batch] and <c>item</c> [batch]; output: logits
/// [batch, 1].
/// </summary>
public static class NeuralCollaborativeFiltering
{
    /// <summary>The registry name.</summary>
    public const string Name = "ncf";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(NeuralCollaborativeFilteringOptions? options = null)
    {
        options ??= new NeuralCollaborativeFilteringOptions();
        var r = options.Recommender;
        var b = new OnnxGraphBuilder(Name, r.Seed);
        var (user, item) = r.Inputs(b);
        float std = RecommenderOptions.EmbeddingStd;
        var gmf = b.Mul(
            b.Embedding(user, r.Users, options.Factors, name: "gmf_user_embedding", std: std),
            b.Embedding(item, r.Items, options.Factors, name: "gmf_item_embedding", std: std), name: "gmf");
        int mlpEmbedding = options.MlpLayers[0] / 2;
        var x = b.Concat(
        [
            b.Embedding(user, r.Users, mlpEmbedding, name: "mlp_user_embedding", std: std),
            b.Embedding(item, r.Items, mlpEmbedding, name: "mlp_item_embedding", std: std),
        ], 1, name: "mlp_input");
        for (int i = 1; i < options.MlpLayers.Count; i++)
            x = b.Relu(b.Linear(x, options.MlpLayers[i], name: $"mlp.{i - 1}"), name: $"mlp_relu.{i - 1}");
        var joined = b.Concat([gmf, x], 1, name: "neumf");
        return ZooOptionChecks.Finish(b, b.Linear(joined, 1, name: "predict"), Name);
    }
}

/// <summary>The shape of a <see cref="NeuralCollaborativeFiltering"/> model. Immutable; validated when made.</summary>
public sealed class NeuralCollaborativeFilteringOptions
{
    /// <summary>Creates the options; every argument is checked here.</summary>
    /// <param name="recommender">User and item counts and seed; defaults when null.</param>
    /// <param name="factors">Width of the GMF embeddings.</param>
    /// <param name="mlpLayers">
    /// Widths of the MLP tower: the first is its input (user and item embeddings of half that width
    /// each, so it must be even), then each hidden layer. Default 64, 32, 16 (NCF's "[64,32,16]").
    /// </param>
    public NeuralCollaborativeFilteringOptions(RecommenderOptions? recommender = null, int factors = 16, IReadOnlyList<int>? mlpLayers = null)
    {
        Recommender = recommender ?? new RecommenderOptions();
        OptionChecks.Positive(factors, nameof(Factors));
        MlpLayers = ZooOptionChecks.PositiveList(mlpLayers, DefaultMlpLayers, nameof(MlpLayers), allowEmpty: false);
        if (MlpLayers.Count < 2 || MlpLayers[0] % 2 != 0)
            throw new InvalidOptionException(nameof(MlpLayers), $"MlpLayers needs an even input width and at least one hidden layer, got [{string.Join(",", MlpLayers)}]");
        Factors = factors;
    }

    /// <summary>The MLP tower used when none is given.</summary>
    public static IReadOnlyList<int> DefaultMlpLayers { get; } = [64, 32, 16];

    /// <summary>User and item counts and seed.</summary>
    public RecommenderOptions Recommender { get; }

    /// <summary>Width of the GMF embeddings.</summary>
    public int Factors { get; }

    /// <summary>Input width and hidden widths of the MLP tower.</summary>
    public IReadOnlyList<int> MlpLayers { get; }
}
