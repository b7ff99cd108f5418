using Microsoft.Extensions.Logging;

namespace Xen.Store.Server;

/// <summary>What a <see cref="XenstoreServer"/> logs: sockets, connections, peers' protocol faults, quota hits, domains.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {Socket}, whose connections act as domain {Domain}")]
    public static partial void Listening(ILogger logger, string socket, ushort domain);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Stopped listening on {Socket}")]
    public static partial void StoppedListening(ILogger logger, string socket);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Connection {Connection} opened, acting as domain {Domain}")]
    public static partial void Connected(ILogger logger, int connection, ushort domain);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Connection {Connection} (domain {Domain}) closed: {Reason}")]
    public static partial void Disconnected(ILogger logger, int connection, ushort domain, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Connection {Connection} (domain {Domain}) broke the wire: {What}; dropping it")]
    public static partial void ProtocolFault(ILogger logger, int connection, ushort domain, string what);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Connection {Connection} (domain {Domain}) sent a malformed {Request}: {What}")]
    public static partial void MalformedRequest(ILogger logger, int connection, ushort domain, XsMessageType request, string what);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Connection {Connection} (domain {Domain}) hit the {Quota} quota: {What}")]
    public static partial void QuotaHit(ILogger logger, int connection, ushort domain, Quota quota, string what);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Connection {Connection} (domain {Domain}): {Request} failed inside the daemon and was answered EIO")]
    public static partial void RequestFailed(ILogger logger, int connection, ushort domain, XsMessageType request, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Connection {Connection} now acts as domain {Domain}")]
    public static partial void ActsAs(ILogger logger, int connection, ushort domain);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Domain {Domain} introduced")]
    public static partial void DomainIntroduced(ILogger logger, ushort domain);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Domain {Domain} released: {Reason}")]
    public static partial void DomainReleased(ILogger logger, ushort domain, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Domain {Domain} shut down; told @releaseDomain's watchers")]
    public static partial void DomainShutDown(ILogger logger, ushort domain);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Domain {Domain} released with {Connections} connection(s), {Watches} watch(es) and {Transactions} transaction(s)")]
    public static partial void DomainReleasedHeld(ILogger logger, ushort domain, int connections, int watches, int transactions);
}
