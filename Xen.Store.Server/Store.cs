namespace Xen.Store.Server;

/// <summary>Who makes a request: its domain, and the domain it may act for (<c>SET_TARGET</c>).</summary>
internal readonly record struct Caller(ushort Domain, ushort? Target = null)
{
    public bool Privileged => Domain == 0;

    public XsAccess AccessTo(XsPermissions perms) => perms.AccessOf(Domain, Target);
}

/// <summary>A change that watches see: the node's path and the permissions that decide who may see it.</summary>
/// <param name="Path">The changed node.</param>
/// <param name="Perms">Its permissions (after the change, or before a removal).</param>
/// <param name="Removed">For a removal, the removed subtree, so that watches below it fire too.</param>
internal sealed record Change(string Path, XsPermissions Perms, Node? Removed = null);

/// <summary>A root being edited: the store's own for one request, or a transaction's private copy.</summary>
internal sealed class StoreView(Node root, bool transaction)
{
    /// <summary>The root the view started from.</summary>
    public Node Base { get; } = root;

    public Node Root { get; set; } = root;

    /// <summary>For a transaction: every path it looked at, with its generation in <see cref="Base"/> (-1: absent).</summary>
    public Dictionary<string, long>? Seen { get; } = transaction ? new(StringComparer.Ordinal) : null;

    /// <summary>Nodes gained (lost) per owning domain by the edits so far.</summary>
    public Dictionary<ushort, int> OwnedDelta { get; } = [];

    public List<Change> Changes { get; } = [];
}

/// <summary>
/// The tree of nodes, its permissions and its node quotas. Not thread-safe: the server serialises
/// requests, as the real daemon does. Every operation either completes or throws
/// <see cref="XenstoreException"/> and leaves the view as it was.
/// </summary>
internal sealed class Store
{
    private readonly Dictionary<ushort, int> _owned = [];
    private readonly Dictionary<string, XsPermissions> _special = new(StringComparer.Ordinal)
    {
        [XsWire.IntroduceDomain] = XsPermissions.Create(0),
        [XsWire.ReleaseDomain] = XsPermissions.Create(0),
    };
    private long _generation;

    public Store(int maxNodesPerDomain)
    {
        MaxNodesPerDomain = maxNodesPerDomain;
        Root = new Node("", [], XsPermissions.Create(0), Node.NoChildren, NextGeneration());
        _owned[0] = 1;
    }

    public int MaxNodesPerDomain { get; set; }

    /// <summary>The committed root.</summary>
    public Node Root { get; private set; }

    public StoreView Begin(bool transaction = false) => new(Root, transaction);

    /// <summary>Makes a view's edits the committed state and returns the changes to fire.</summary>
    public List<Change> Publish(StoreView view)
    {
        Root = view.Root;
        foreach (var (domain, delta) in view.OwnedDelta)
            _owned[domain] = Owned(domain) + delta;
        return view.Changes;
    }

    /// <summary>How many nodes <paramref name="domain"/> owns in the committed tree.</summary>
    public int Owned(ushort domain) => _owned.GetValueOrDefault(domain);

    /// <summary>Whether every path a transaction looked at is as it saw it.</summary>
    public bool Unchanged(StoreView transaction)
    {
        foreach (var (path, generation) in transaction.Seen!)
        {
            var node = Root.Find(XsPath.Segments(path));
            if ((node?.Generation ?? -1) != generation)
                return false;
        }
        return true;
    }

    public byte[] Read(Caller caller, StoreView view, string path) => Readable(caller, view, path).Value;

    public Node Directory(Caller caller, StoreView view, string path) => Readable(caller, view, path);

    /// <summary>A read of the committed store outside a transaction, by the path's <paramref name="segments"/>.</summary>
    public Node ReadCommitted(Caller caller, string path, string[] segments)
    {
        var node = Root.Find(segments) ?? throw new XenstoreException(XsError.ENOENT, $"{path} does not exist.");
        Require(caller, node.Perms, XsAccess.Read, path);
        return node;
    }

    public XsPermissions GetPerms(Caller caller, StoreView view, string path)
    {
        if (_special.TryGetValue(path, out var special))
            return special;
        return Readable(caller, view, path).Perms;
    }

    public void Write(Caller caller, StoreView view, string path, byte[] value) => Create(caller, view, path, value);

    public void Mkdir(Caller caller, StoreView view, string path) => Create(caller, view, path, null);

    public void Rm(Caller caller, StoreView view, string path)
    {
        if (path == "/")
            throw new XenstoreException(XsError.EINVAL, "The root cannot be removed.");
        var segments = XsPath.Segments(path);
        var parentPath = XsPath.Parent(path);
        var parent = See(view, parentPath, view.Root.Find(segments.AsSpan(0, segments.Length - 1)));
        var node = See(view, path, parent?.Children.GetValueOrDefault(segments[^1]));
        if (node is null)
        {
            // Removing what is not there is fine, but only below a node that is.
            if (parent is null)
                throw new XenstoreException(XsError.ENOENT, $"Neither {path} nor its parent exists.");
            return;
        }
        Require(caller, node.Perms, XsAccess.Write, path);
        var newParent = parent!.With(children: parent.Children.Remove(segments[^1]), generation: NextGeneration());
        view.Root = Replace(view.Root, segments, segments.Length - 1, newParent);
        node.ForEach(n => Adjust(view, n.Perms.Owner, -1));
        view.Changes.Add(new Change(path, node.Perms, node));
    }

    public void SetPerms(Caller caller, StoreView view, string path, XsPermissions perms)
    {
        if (_special.TryGetValue(path, out var special))
        {
            // Special watch paths are not part of transactions: only dom0 sets them.
            if (!caller.Privileged)
                throw new XenstoreException(XsError.EACCES, $"Only dom0 may set the permissions of {path}.");
            _special[path] = perms;
            return;
        }
        var segments = XsPath.Segments(path);
        var node = See(view, path, view.Root.Find(segments)) ?? throw new XenstoreException(XsError.ENOENT, $"{path} does not exist.");
        var owner = node.Perms.Owner;
        if (!(caller.Privileged || caller.Domain == owner || caller.Target == owner))
            throw new XenstoreException(XsError.EACCES, $"Only the owner of {path} may set its permissions.");
        if (!caller.Privileged && perms.Owner != owner)
            throw new XenstoreException(XsError.EPERM, $"An unprivileged domain may not give {path} away.");
        view.Root = Replace(view.Root, segments, segments.Length, node.With(perms: perms, generation: NextGeneration()));
        if (perms.Owner != owner)
        {
            Adjust(view, owner, -1);
            Adjust(view, perms.Owner, +1);
        }
        view.Changes.Add(new Change(path, perms));
    }

    /// <summary>Whether <paramref name="caller"/> may read what a special watch path reports.</summary>
    public bool MayWatchSpecial(Caller caller, string path) =>
        !_special.TryGetValue(path, out var perms) || (caller.AccessTo(perms) & XsAccess.Read) != 0;

    private Node Readable(Caller caller, StoreView view, string path)
    {
        var node = See(view, path, view.Root.Find(XsPath.Segments(path))) ?? throw new XenstoreException(XsError.ENOENT, $"{path} does not exist.");
        Require(caller, node.Perms, XsAccess.Read, path);
        return node;
    }

    private void Create(Caller caller, StoreView view, string path, byte[]? value)
    {
        var segments = XsPath.Segments(path);
        var node = view.Root;
        var depth = 0;
        while (depth < segments.Length && node.Children.TryGetValue(segments[depth], out var next))
        {
            node = next;
            depth++;
        }
        if (depth == segments.Length)
        {
            See(view, path, node);
            Require(caller, node.Perms, XsAccess.Write, path);
            if (value is null)
                return;
            view.Root = Replace(view.Root, segments, depth, node.With(value: value, generation: NextGeneration()));
            view.Changes.Add(new Change(path, node.Perms));
            return;
        }

        // node is the nearest existing ancestor: the new nodes hang from it and inherit its permissions,
        // except that an unprivileged domain owns what it creates.
        if (view.Seen is not null)
        {
            See(view, Join(segments, depth), node);
            for (var i = depth + 1; i <= segments.Length; i++)
                See(view, Join(segments, i), null);
        }
        Require(caller, node.Perms, XsAccess.Write, Join(segments, depth));
        var perms = caller.Privileged ? node.Perms : node.Perms.WithOwner(caller.Domain);
        var count = segments.Length - depth;
        if (!caller.Privileged && Owned(perms.Owner) + view.OwnedDelta.GetValueOrDefault(perms.Owner) + count > MaxNodesPerDomain)
            throw new QuotaException(Quota.Nodes, XsError.ENOSPC, $"Domain {perms.Owner} may own at most {MaxNodesPerDomain} nodes.");
        var child = new Node(segments[^1], value ?? [], perms, Node.NoChildren, NextGeneration());
        for (var i = segments.Length - 2; i >= depth; i--)
            child = new Node(segments[i], [], perms, Node.NoChildren.Add(child.Name, child), NextGeneration());
        var attached = node.With(children: node.Children.Add(child.Name, child), generation: NextGeneration());
        view.Root = Replace(view.Root, segments, depth, attached);
        Adjust(view, perms.Owner, count);
        view.Changes.Add(new Change(path, perms));
    }

    private static void Require(Caller caller, XsPermissions perms, XsAccess access, string path)
    {
        if ((caller.AccessTo(perms) & access) != access)
            throw new XenstoreException(XsError.EACCES, $"Domain {caller.Domain} may not {(access == XsAccess.Read ? "read" : "write")} {path}.");
    }

    /// <summary>Notes that a transaction depends on <paramref name="path"/>: as it was when the
    /// transaction started, even if the transaction has changed it since (a removal takes the nodes
    /// below it out of the view without looking at them).</summary>
    private static Node? See(StoreView view, string path, Node? node)
    {
        if (view.Seen is { } seen && !seen.ContainsKey(path))
            seen[path] = view.Base.Find(XsPath.Segments(path))?.Generation ?? -1;
        return node;
    }

    private static void Adjust(StoreView view, ushort domain, int delta) =>
        view.OwnedDelta[domain] = view.OwnedDelta.GetValueOrDefault(domain) + delta;

    /// <summary>A copy of the path from <paramref name="node"/> down to depth <paramref name="depth"/>, where <paramref name="replacement"/> goes.</summary>
    private static Node Replace(Node node, string[] segments, int depth, Node replacement, int level = 0)
    {
        if (level == depth)
            return replacement;
        var child = node.Children[segments[level]];
        return node.With(children: node.Children.SetItem(segments[level], Replace(child, segments, depth, replacement, level + 1)));
    }

    private static string Join(string[] segments, int count) => "/" + string.Join('/', segments, 0, count);

    private long NextGeneration() => ++_generation;
}
