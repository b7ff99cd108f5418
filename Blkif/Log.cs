using Microsoft.Extensions.Logging;

namespace Blkif;

/// <summary>What blkfront and blkback log: connections, and what a peer got wrong. Never per request:
/// a request that is merely bad is answered with an error and counted (<see cref="BlkifMetrics"/>).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "blkback {Name}: serving the blkfront of domain {FrontendDomain}: {Queues} queue(s) of 2^{RingPageOrder} pages, feature-persistent {Persistent}, {IndirectSegments} indirect segments, {Sectors} sectors of {SectorSize} bytes, read-only {ReadOnly}")]
    public static partial void BlkbackConnected(ILogger logger, string name, ushort frontendDomain, int queues, int ringPageOrder,
        bool persistent, int indirectSegments, ulong sectors, int sectorSize, bool readOnly);

    [LoggerMessage(2, LogLevel.Information, "blkback {Name}: stopped serving the blkfront of domain {FrontendDomain}")]
    public static partial void BlkbackDisconnected(ILogger logger, string name, ushort frontendDomain);

    [LoggerMessage(3, LogLevel.Warning, "blkback {Name}: the blkfront of domain {FrontendDomain} broke the protocol: {Reason}")]
    public static partial void BlkbackFrontendFault(ILogger logger, string name, ushort frontendDomain, string reason);

    [LoggerMessage(4, LogLevel.Error, "blkback {Name}: a queue serving domain {FrontendDomain} failed")]
    public static partial void BlkbackQueueFailed(ILogger logger, string name, ushort frontendDomain, Exception exception);

    [LoggerMessage(5, LogLevel.Information,
        "blkfront {Name}: connected to the blkback of domain {BackendDomain}: {Queues} queue(s) of 2^{RingPageOrder} pages, {Sectors} sectors of {SectorSize} bytes, read-only {ReadOnly}, feature-persistent {Persistent}, {MaxSegments} segments per request, flush {Flush}, barrier {Barrier}, discard {Discard}")]
    public static partial void BlkfrontConnected(ILogger logger, string name, ushort backendDomain, int queues, int ringPageOrder,
        ulong sectors, int sectorSize, bool readOnly, bool persistent, int maxSegments, bool flush, bool barrier, bool discard);

    [LoggerMessage(6, LogLevel.Information, "blkfront {Name}: closed towards the blkback of domain {BackendDomain}")]
    public static partial void BlkfrontDisconnected(ILogger logger, string name, ushort backendDomain);

    [LoggerMessage(7, LogLevel.Information, "blkfront {Name}: the blkback of domain {BackendDomain} closed its end or died")]
    public static partial void BlkfrontBackendGone(ILogger logger, string name, ushort backendDomain);

    [LoggerMessage(8, LogLevel.Warning, "blkfront {Name}: the blkback of domain {BackendDomain} broke the protocol: {Reason}")]
    public static partial void BlkfrontBackendFault(ILogger logger, string name, ushort backendDomain, string reason);
}
