namespace Xen.Store.Server;

/// <summary>A registered watch: a connection, the absolute (or special) path, its token, and the
/// domain home to strip from event paths when it was registered with a relative path.</summary>
internal sealed record Watch(ServerConnection Connection, string Path, byte[] Token, string? RelativeBase)
{
    /// <summary>The event path as the watcher expects it: relative if it registered relative.</summary>
    public string Report(string path) =>
        RelativeBase is not null && path.Length > RelativeBase.Length + 1 && path.StartsWith(RelativeBase + "/", StringComparison.Ordinal)
            ? path[(RelativeBase.Length + 1)..]
            : path;
}

/// <summary>A transaction: its private view of the store and the edits to replay when it commits.</summary>
internal sealed class Transaction(uint id, StoreView view)
{
    public uint Id { get; } = id;

    public StoreView View { get; } = view;

    public List<Action<StoreView>> Log { get; } = [];
}
