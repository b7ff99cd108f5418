using Microsoft.Extensions.Logging;

namespace Xen.Store;

/// <summary>What a <see cref="XenstoreClient"/> logs: its connection's life, a daemon that breaks the wire, quota hits.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Xenstore client connected over {Transport}")]
    public static partial void Connected(ILogger logger, string transport);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Xenstore client closed: {Reason}")]
    public static partial void Closed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Xenstore connection lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "The Xenstore daemon sent a malformed reply: {What}")]
    public static partial void MalformedReply(ILogger logger, string what);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Xenstore quota hit: {Request} answered {Error}")]
    public static partial void QuotaHit(ILogger logger, XsMessageType request, string error);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "A Xenstore watch fell {Backlog} events behind its reader and was ended (the last event at {Path})")]
    public static partial void WatchBacklogFull(ILogger logger, string path, int backlog);
}
