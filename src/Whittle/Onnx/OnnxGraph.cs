using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>
/// The computation graph of an ONNX model: nodes, initializers (constant tensors, usually
/// weights), declared inputs, outputs and intermediate value infos, with the edits that
/// compression techniques need. A view over the protobuf graph.
/// </summary>
public sealed class OnnxGraph
{
    internal GraphProto Proto { get; }
    internal string? BaseDirectory { get; }

    internal OnnxGraph(GraphProto proto, string? baseDirectory)
    {
        Proto = proto;
        BaseDirectory = baseDirectory;
    }

    /// <summary>The graph name.</summary>
    public string Name => Proto.Name;

    /// <summary>The nodes in file order (ONNX requires topological order; see <see cref="TopologicalOrder"/>).</summary>
    public IReadOnlyList<OnnxNode> Nodes => Proto.Node.Select(n => new OnnxNode(n, BaseDirectory)).ToList();

    /// <summary>The initializers (constant tensors; weights, biases, shapes).</summary>
    public IReadOnlyList<OnnxTensor> Initializers => Proto.Initializer.Select(t => new OnnxTensor(t, BaseDirectory)).ToList();

    /// <summary>
    /// Every declared graph input, including those that also have an initializer
    /// (IR &lt; 4 models list weights as inputs).
    /// </summary>
    public IReadOnlyList<OnnxValueInfo> AllInputs => Proto.Input.Select(v => new OnnxValueInfo(v)).ToList();

    /// <summary>The inputs a caller must feed: declared inputs without an initializer of the same name.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs
    {
        get
        {
            var init = InitializerNames();
            return Proto.Input.Where(v => !init.Contains(v.Name)).Select(v => new OnnxValueInfo(v)).ToList();
        }
    }

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs => Proto.Output.Select(v => new OnnxValueInfo(v)).ToList();

    /// <summary>Declared types of intermediate values (may be empty or partial).</summary>
    public IReadOnlyList<OnnxValueInfo> ValueInfos => Proto.ValueInfo.Select(v => new OnnxValueInfo(v)).ToList();

    /// <summary>The initializer with this name, or null.</summary>
    public OnnxTensor? FindInitializer(string name)
    {
        foreach (var t in Proto.Initializer) if (t.Name == name) return new OnnxTensor(t, BaseDirectory);
        return null;
    }

    /// <summary>The first node that has this value among its outputs, or null (graph input or initializer).</summary>
    public OnnxNode? FindProducer(string valueName)
    {
        foreach (var n in Proto.Node) if (n.Output.Contains(valueName)) return new OnnxNode(n, BaseDirectory);
        return null;
    }

    /// <summary>Every node that reads this value.</summary>
    public IReadOnlyList<OnnxNode> FindConsumers(string valueName) =>
        Proto.Node.Where(n => n.Input.Contains(valueName)).Select(n => new OnnxNode(n, BaseDirectory)).ToList();

    /// <summary>The node with this name, or null.</summary>
    public OnnxNode? FindNode(string name)
    {
        foreach (var n in Proto.Node) if (n.Name == name) return new OnnxNode(n, BaseDirectory);
        return null;
    }

    /// <summary>Names of all initializers.</summary>
    public HashSet<string> InitializerNames() => Proto.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Counts nodes per operator type (domain-qualified for non-default domains).</summary>
    public SortedDictionary<string, int> OpHistogram()
    {
        var h = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            var key = n.Domain.Length > 0 ? $"{n.Domain}.{n.OpType}" : n.OpType;
            h[key] = h.GetValueOrDefault(key) + 1;
        }
        return h;
    }

    /// <summary>
    /// The nodes in an order where every node comes after the producers of its inputs
    /// (Kahn's algorithm, stable: ties keep file order). Values consumed only inside
    /// subgraphs of control-flow nodes count as inputs of the outer node.
    /// </summary>
    /// <exception cref="OnnxException">The graph has a cycle; the message names nodes on it.</exception>
    public IReadOnlyList<OnnxNode> TopologicalOrder()
    {
        var nodes = Proto.Node;
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
            foreach (var o in nodes[i].Output)
                if (o.Length > 0) producer.TryAdd(o, i);

        var indegree = new int[nodes.Count];
        var dependents = new List<int>[nodes.Count];
        for (int i = 0; i < nodes.Count; i++) dependents[i] = new List<int>();
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (var input in NodeDependencies(nodes[i]))
            {
                if (producer.TryGetValue(input, out var p) && p != i)
                {
                    dependents[p].Add(i);
                    indegree[i]++;
                }
                else if (p == i && producer.ContainsKey(input))
                {
                    throw new OnnxException($"graph has a cycle: node '{new OnnxNode(nodes[i]).DisplayName}' reads its own output '{input}'");
                }
            }
        }
        // A min-heap on the file index keeps the order stable for graphs that are already sorted.
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (indegree[i] == 0) ready.Enqueue(i, i);
        var order = new List<OnnxNode>(nodes.Count);
        while (ready.TryDequeue(out var i, out _))
        {
            order.Add(new OnnxNode(nodes[i], BaseDirectory));
            foreach (var d in dependents[i])
                if (--indegree[d] == 0) ready.Enqueue(d, d);
        }
        if (order.Count != nodes.Count)
        {
            var stuck = Enumerable.Range(0, nodes.Count).Where(i => indegree[i] > 0)
                .Select(i => new OnnxNode(nodes[i]).DisplayName).Take(5);
            throw new OnnxException($"graph has a cycle through {nodes.Count - order.Count} node(s), e.g. {string.Join(", ", stuck)}");
        }
        return order;
    }

    /// <summary>Rewrites the node list in topological order.</summary>
    public void SortTopologically()
    {
        var sorted = TopologicalOrder().Select(n => n.Proto).ToList();
        Proto.Node.Clear();
        Proto.Node.Add(sorted);
    }

    // ---- edits -------------------------------------------------------------------------

    /// <summary>Appends a node (call <see cref="SortTopologically"/> if it is not appended in order).</summary>
    public OnnxNode AddNode(OnnxNode node)
    {
        Proto.Node.Add(node.Proto);
        return new OnnxNode(node.Proto, BaseDirectory);
    }

    /// <summary>Inserts a node at a position in the node list.</summary>
    public OnnxNode InsertNode(int index, OnnxNode node)
    {
        Proto.Node.Insert(index, node.Proto);
        return new OnnxNode(node.Proto, BaseDirectory);
    }

    /// <summary>Index of a node in the node list, or -1.</summary>
    public int IndexOf(OnnxNode node) => Proto.Node.IndexOf(node.Proto);

    /// <summary>Removes a node; its outputs become dangling unless rewired.</summary>
    public void RemoveNode(OnnxNode node)
    {
        if (!Proto.Node.Remove(node.Proto))
            throw new OnnxException($"node '{node.DisplayName}' is not in graph '{Name}'");
    }

    /// <summary>Replaces a node in place by another (same position in the node list).</summary>
    public OnnxNode ReplaceNode(OnnxNode oldNode, OnnxNode newNode)
    {
        var i = Proto.Node.IndexOf(oldNode.Proto);
        if (i < 0) throw new OnnxException($"node '{oldNode.DisplayName}' is not in graph '{Name}'");
        Proto.Node[i] = newNode.Proto;
        return new OnnxNode(newNode.Proto, BaseDirectory);
    }

    /// <summary>Adds an initializer; fails if the name is already taken by an initializer.</summary>
    public OnnxTensor AddInitializer(OnnxTensor tensor)
    {
        if (FindInitializer(tensor.Name) is not null)
            throw new OnnxException($"initializer '{tensor.Name}' already exists in graph '{Name}'");
        Adopt(tensor);
        Proto.Initializer.Add(tensor.Proto);
        return new OnnxTensor(tensor.Proto, BaseDirectory);
    }

    /// <summary>
    /// An external tensor's location is relative to the directory of the model it came from; one
    /// from another directory (or from a model built in memory) is read in before it joins this graph.
    /// </summary>
    private void Adopt(OnnxTensor tensor)
    {
        if (tensor.IsExternal && !string.Equals(tensor.BaseDirectory, BaseDirectory, StringComparison.Ordinal)) tensor.Materialize();
    }

    /// <summary>Replaces the initializer of the same name (error if there is none).</summary>
    public OnnxTensor ReplaceInitializer(OnnxTensor tensor)
    {
        for (int i = 0; i < Proto.Initializer.Count; i++)
        {
            if (Proto.Initializer[i].Name == tensor.Name)
            {
                Adopt(tensor);
                Proto.Initializer[i] = tensor.Proto;
                return new OnnxTensor(tensor.Proto, BaseDirectory);
            }
        }
        throw new OnnxException($"initializer '{tensor.Name}' not found in graph '{Name}'");
    }

    /// <summary>Removes an initializer (and its graph-input entry in IR &lt; 4 models); returns whether it existed.</summary>
    public bool RemoveInitializer(string name)
    {
        var t = Proto.Initializer.FirstOrDefault(x => x.Name == name);
        if (t is null) return false;
        Proto.Initializer.Remove(t);
        var input = Proto.Input.FirstOrDefault(v => v.Name == name);
        if (input is not null) Proto.Input.Remove(input);
        return true;
    }

    /// <summary>
    /// Renames a value everywhere: producer outputs, consumer inputs, initializers,
    /// graph inputs/outputs and value infos.
    /// </summary>
    public void RenameValue(string oldName, string newName)
    {
        if (oldName == newName) return;
        if (ValueExists(newName)) throw new OnnxException($"cannot rename '{oldName}' to '{newName}': the name is already used");
        foreach (var n in Proto.Node)
        {
            for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == oldName) n.Input[i] = newName;
            for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == oldName) n.Output[i] = newName;
        }
        foreach (var t in Proto.Initializer) if (t.Name == oldName) t.Name = newName;
        foreach (var v in Proto.Input.Concat(Proto.Output).Concat(Proto.ValueInfo)) if (v.Name == oldName) v.Name = newName;
    }

    /// <summary>Makes every consumer (and graph output) of <paramref name="oldName"/> read <paramref name="newName"/> instead.</summary>
    public void ReplaceAllUses(string oldName, string newName)
    {
        foreach (var n in Proto.Node)
            for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == oldName) n.Input[i] = newName;
        foreach (var v in Proto.Output) if (v.Name == oldName) v.Name = newName;
    }

    /// <summary>
    /// Declares an existing value as a graph output (used to capture intermediate tensors).
    /// The type is copied from a value info when the graph has one; ONNX Runtime infers it otherwise.
    /// </summary>
    public void AddOutput(string valueName)
    {
        if (Proto.Output.Any(o => o.Name == valueName)) return;
        if (!ValueExists(valueName)) throw new OnnxException($"cannot add output '{valueName}': no such value in graph '{Name}'");
        var info = Proto.ValueInfo.FirstOrDefault(v => v.Name == valueName)?.Clone() ?? new ValueInfoProto { Name = valueName };
        Proto.Output.Add(info);
    }

    /// <summary>Declares a new graph output with its type.</summary>
    public void AddOutput(OnnxValueInfo output)
    {
        if (Proto.Output.Any(o => o.Name == output.Name)) throw new OnnxException($"graph output '{output.Name}' already exists");
        Proto.Output.Add(output.Proto);
    }

    /// <summary>Removes a graph output declaration; returns whether it existed.</summary>
    public bool RemoveOutput(string name)
    {
        var o = Proto.Output.FirstOrDefault(v => v.Name == name);
        return o is not null && Proto.Output.Remove(o);
    }

    /// <summary>Adds a graph input.</summary>
    public void AddInput(OnnxValueInfo input)
    {
        if (Proto.Input.Any(o => o.Name == input.Name)) throw new OnnxException($"graph input '{input.Name}' already exists");
        Proto.Input.Add(input.Proto);
    }

    /// <summary>Removes a graph input declaration (not its initializer); returns whether it existed.</summary>
    public bool RemoveInput(string name)
    {
        var i = Proto.Input.FirstOrDefault(v => v.Name == name);
        return i is not null && Proto.Input.Remove(i);
    }

    /// <summary>Removes nodes whose outputs nobody uses, repeatedly; then initializers nobody reads. Returns nodes removed.</summary>
    public int RemoveUnusedNodes()
    {
        int removed = 0;
        while (true)
        {
            var used = new HashSet<string>(Proto.Output.Select(o => o.Name), StringComparer.Ordinal);
            foreach (var n in Proto.Node) foreach (var i in NodeDependencies(n)) used.Add(i);
            var dead = Proto.Node.Where(n => n.Output.All(o => o.Length == 0 || !used.Contains(o))).ToList();
            if (dead.Count == 0) break;
            foreach (var d in dead) Proto.Node.Remove(d);
            removed += dead.Count;
        }
        var stillUsed = new HashSet<string>(Proto.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var n in Proto.Node) foreach (var i in NodeDependencies(n)) stillUsed.Add(i);
        foreach (var t in Proto.Initializer.Where(t => !stillUsed.Contains(t.Name)).ToList()) RemoveInitializer(t.Name);
        return removed;
    }

    /// <summary>A name not used by any value or node in the graph, based on <paramref name="prefix"/>.</summary>
    public string UniqueName(string prefix)
    {
        var taken = AllValueNames();
        foreach (var n in Proto.Node) if (n.Name.Length > 0) taken.Add(n.Name);
        if (!taken.Contains(prefix)) return prefix;
        for (int i = 1; ; i++)
            if (!taken.Contains($"{prefix}_{i}")) return $"{prefix}_{i}";
    }

    /// <summary>Every value name: node inputs and outputs, initializers, graph inputs and outputs.</summary>
    public HashSet<string> AllValueNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in Proto.Node)
        {
            foreach (var i in n.Input) if (i.Length > 0) names.Add(i);
            foreach (var o in n.Output) if (o.Length > 0) names.Add(o);
        }
        foreach (var t in Proto.Initializer) names.Add(t.Name);
        foreach (var v in Proto.Input) names.Add(v.Name);
        foreach (var v in Proto.Output) names.Add(v.Name);
        return names;
    }

    private bool ValueExists(string name) =>
        Proto.Input.Any(v => v.Name == name) || Proto.Initializer.Any(t => t.Name == name)
        || Proto.Node.Any(n => n.Output.Contains(name) || n.Input.Contains(name));

    /// <summary>
    /// The values a node depends on: its inputs plus the outer-scope values its subgraphs
    /// (If/Loop/Scan bodies) read.
    /// </summary>
    internal static IEnumerable<string> NodeDependencies(NodeProto node)
    {
        foreach (var i in node.Input) if (i.Length > 0) yield return i;
        foreach (var a in node.Attribute)
        {
            var graphs = a.G is not null ? a.Graphs.Prepend(a.G) : a.Graphs;
            foreach (var g in graphs)
                foreach (var outer in OuterScopeReads(g))
                    yield return outer;
        }
    }

    private static IEnumerable<string> OuterScopeReads(GraphProto g)
    {
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in g.Input) local.Add(v.Name);
        foreach (var t in g.Initializer) local.Add(t.Name);
        foreach (var n in g.Node) foreach (var o in n.Output) local.Add(o);
        foreach (var n in g.Node)
            foreach (var i in NodeDependencies(n))
                if (!local.Contains(i)) yield return i;
    }
}
