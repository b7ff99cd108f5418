using Microsoft.Extensions.Logging;

namespace Netif;

/// <summary>What netfront and netback log: connections, and what a peer got wrong. Never per frame:
/// a frame that is merely bad is counted (<see cref="NetifMetrics"/>), not logged.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "netback {Name}: attached to the netfront of domain {FrontendDomain}: {Queues} queue(s), split event channels {Split}, sg {Sg}, gso-tcpv4 {GsoTcpV4}, gso-tcpv6 {GsoTcpV6}, ipv6-csum-offload {Ipv6CsumOffload}, kept mappings {KeptMappings}")]
    public static partial void NetbackConnected(ILogger logger, string name, ushort frontendDomain, int queues, bool split,
        bool sg, bool gsoTcpV4, bool gsoTcpV6, bool ipv6CsumOffload, int keptMappings);

    [LoggerMessage(2, LogLevel.Information, "netback {Name}: detached from the netfront of domain {FrontendDomain}")]
    public static partial void NetbackDisconnected(ILogger logger, string name, ushort frontendDomain);

    [LoggerMessage(3, LogLevel.Warning, "netback {Name}: the netfront of domain {FrontendDomain} broke the protocol, disconnecting it: {Reason}")]
    public static partial void NetbackFrontendFault(ILogger logger, string name, ushort frontendDomain, string reason);

    [LoggerMessage(4, LogLevel.Warning, "netback {Name}: refused the netfront at {FrontendPath}: {Reason}")]
    public static partial void NetbackFrontendRefused(ILogger logger, string name, string frontendPath, string reason);

    [LoggerMessage(5, LogLevel.Information,
        "netfront {Name}: set up for the netback of domain {BackendDomain}: {Queues} queue(s), split event channels {Split}, mtu {Mtu}, sg {Sg}, gso-tcpv4 {GsoTcpV4}, gso-tcpv6 {GsoTcpV6}")]
    public static partial void NetfrontConnected(ILogger logger, string name, ushort backendDomain, int queues, bool split, int mtu,
        bool sg, bool gsoTcpV4, bool gsoTcpV6);

    [LoggerMessage(6, LogLevel.Information, "netfront {Name}: closed towards the netback of domain {BackendDomain}")]
    public static partial void NetfrontDisconnected(ILogger logger, string name, ushort backendDomain);

    [LoggerMessage(7, LogLevel.Warning, "netfront {Name}: refused the netback at {BackendPath}: {Reason}")]
    public static partial void NetfrontBackendRefused(ILogger logger, string name, string backendPath, string reason);

    [LoggerMessage(8, LogLevel.Warning, "netfront {Name}: the netback of domain {BackendDomain} wrote a bad {Direction} response on queue {Queue}: {Reason}; more of the kind are only counted")]
    public static partial void NetfrontBadResponse(ILogger logger, string name, ushort backendDomain, string direction, int queue, NetifDropReason reason);
}
