using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// Matrix factorization with biases (Koren et al., 2009) as a relevance scorer: logit =
/// p_u · q_i + b_u + b_i + b. Inputs: int64 <c>user</c> [batch] and <c>item</c> [batch]; output:
/// logits [batch, 1] (a binary cross-entropy target for implicit feedback).
/// </summary>
public static class MatrixFactorization
{
    /// <summary>The registry name.</summary>
    public const string Name = "mf";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(MatrixFactorizationOptions? options = null)
    {
        options ??= new MatrixFactorizationOptions();
        var r = options.Recommender;
        var b = new OnnxGraphBuilder(Name, r.Seed);
        var (user, item) = r.Inputs(b);
        var p = b.Embedding(user, r.Users, options.Factors, name: "user_embedding", std: RecommenderOptions.EmbeddingStd);
        var q = b.Embedding(item, r.Items, options.Factors, name: "item_embedding", std: RecommenderOptions.EmbeddingStd);
        var dot = b.ReduceSum(b.Mul(p, q, name: "product"), [1], keepDims: true, name: "dot");
        var userBias = b.Embedding(user, r.Users, 1, name: "user_bias", std: RecommenderOptions.EmbeddingStd);
        var itemBias = b.Embedding(item, r.Items, 1, name: "item_bias", std: RecommenderOptions.EmbeddingStd);
        var logit = b.Add(b.Add(dot, userBias, name: "plus_user_bias"), itemBias, name: "plus_item_bias");
        // The global bias: a Linear 1 -> 1 would scale the score too; a plain Add of a trained scalar is what MF means.
        return ZooOptionChecks.Finish(b, b.AddBias(logit, name: "global_bias"), Name);
    }
}

/// <summary>The shape of a <see cref="MatrixFactorization"/> model. Immutable; validated when made.</summary>
public sealed class MatrixFactorizationOptions
{
    /// <summary>Creates the options; every argument is checked here.</summary>
    /// <param name="recommender">User and item counts and seed; defaults when null.</param>
    /// <param name="factors">Width of the user and item factor vectors.</param>
    public MatrixFactorizationOptions(RecommenderOptions? recommender = null, int factors = 32)
    {
        Recommender = recommender ?? new RecommenderOptions();
        OptionChecks.Positive(factors, nameof(Factors));
        Factors = factors;
    }

    /// <summary>User and item counts and seed.</summary>
    public RecommenderOptions Recommender { get; }

    /// <summary>Width of the factor vectors.</summary>
    public int Factors { get; }
}
