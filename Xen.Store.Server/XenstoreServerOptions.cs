using Microsoft.Extensions.Logging;

namespace Xen.Store.Server;

/// <summary>Limits and logging of a <see cref="XenstoreServer"/>. Every limit is answered with an error, never a crash.</summary>
public sealed class XenstoreServerOptions
{
    /// <summary>Nodes an unprivileged domain may own (<c>ENOSPC</c> beyond). Dom0 is not limited.</summary>
    public int MaxNodesPerDomain { get; set; } = 1000;

    /// <summary>Watches one connection may hold (<c>E2BIG</c> beyond).</summary>
    public int MaxWatchesPerConnection { get; set; } = 128;

    /// <summary>Transactions one connection may hold open (<c>ENOSPC</c> beyond).</summary>
    public int MaxTransactionsPerConnection { get; set; } = 10;

    /// <summary>Bytes of replies and events that may wait for a peer that is not reading. Its requests
    /// are held back above this; a watch event that would pass it disconnects the peer.</summary>
    public long MaxPendingOutputBytes { get; set; } = 1 << 20;

    /// <summary>Where the server logs its sockets, connections, peers' protocol faults, quota hits and
    /// domains coming and going; null for none.</summary>
    public ILogger? Logger { get; set; }
}
