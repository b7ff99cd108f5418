using System.Collections.Immutable;

namespace Xen.Store.Server;

/// <summary>
/// One node of the persistent tree. Nodes are never changed: an edit copies the path from the root,
/// so a transaction keeps the root it started from for free.
/// </summary>
/// <remarks><see cref="Generation"/> changes whenever the node's value, permissions or set of
/// children change, and only then; transactions detect conflicts by comparing it.</remarks>
internal sealed class Node
{
    public static readonly ImmutableSortedDictionary<string, Node> NoChildren = ImmutableSortedDictionary.Create<string, Node>(StringComparer.Ordinal);

    public Node(string name, byte[] value, XsPermissions perms, ImmutableSortedDictionary<string, Node> children, long generation)
    {
        Name = name;
        Value = value;
        Perms = perms;
        Children = children;
        Generation = generation;
    }

    public string Name { get; }

    public byte[] Value { get; }

    public XsPermissions Perms { get; }

    public ImmutableSortedDictionary<string, Node> Children { get; }

    public long Generation { get; }

    public Node With(byte[]? value = null, XsPermissions? perms = null, ImmutableSortedDictionary<string, Node>? children = null, long? generation = null) =>
        new(Name, value ?? Value, perms ?? Perms, children ?? Children, generation ?? Generation);

    /// <summary>Calls <paramref name="visit"/> for this node and every descendant.</summary>
    public void ForEach(Action<Node> visit)
    {
        visit(this);
        foreach (var child in Children.Values)
            child.ForEach(visit);
    }

    /// <summary>The node at the relative <paramref name="segments"/> below this one, or null.</summary>
    public Node? Find(ReadOnlySpan<string> segments)
    {
        var node = this;
        foreach (var s in segments)
        {
            if (!node.Children.TryGetValue(s, out var next))
                return null;
            node = next;
        }
        return node;
    }
}
