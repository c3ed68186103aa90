
namespace Whittle.Onnx;

/// <summary>
/// Finds the lookup tables an id input indexes: every <c>Gather</c> (axis 0) whose data is an
/// initializer and whose indices are the graph input. Their row count is the number of valid
/// ids, which a vocabulary or recommender data must match.
/// </summary>
public static class EmbeddingTables
{
    /// <summary>The row count of the tables <paramref name="inputName"/> indexes.</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputName">An id input, e.g. <c>input</c>, <c>user</c> or <c>item</c>.</param>
    /// <exception cref="OnnxException">No table reads the input, or the tables it reads differ in size.</exception>
    public static long RowsIndexedBy(OnnxModel model, string inputName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputName);
        var rows = model.Graph.Nodes
            .Where(n => n.OpType == "Gather" && n.Domain.Length == 0 && n.Inputs.Count == 2 && n.Inputs[1] == inputName
                && n.GetInt("axis", 0) == 0)
            .Select(n => model.Graph.FindInitializer(n.Inputs[0]))
            .Where(t => t is not null && t.Dims.Length >= 1)
            .Select(t => (t!.Name, Rows: t.Dims[0]))
            .ToArray();
        string label = model.SourcePath ?? model.Graph.Name;
        if (rows.Length == 0) throw new OnnxException($"{label}: no embedding table (Gather on an initializer) is indexed by input '{inputName}'");
        if (rows.Select(r => r.Rows).Distinct().Count() > 1)
            throw new OnnxException($"{label}: the tables indexed by '{inputName}' differ in size: {string.Join(", ", rows.Select(r => $"{r.Name} {r.Rows}"))}");
        return rows[0].Rows;
    }
}
