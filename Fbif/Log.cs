using Microsoft.Extensions.Logging;

namespace Fbif;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "fbfront: connected, {Geometry}, {MemLength} bytes of framebuffer, request-update {RequestUpdate}, feature-resize {FeatureResize}")]
    public static partial void FbfrontConnected(ILogger logger, string geometry, int memLength, bool requestUpdate, bool featureResize);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "fbback {Name}: connected to domain {Domain}, {Geometry}, {MemLength} bytes in {Pages} frames")]
    public static partial void FbbackConnected(ILogger logger, string name, ushort domain, string geometry, long memLength, int pages);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "fbback {Name}: frontend in domain {Domain} broke the protocol: {Reason}")]
    public static partial void FbbackFrontendFault(ILogger logger, string name, ushort domain, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "fbback {Name}: domain {Domain} resized to {Geometry}")]
    public static partial void FbbackResized(ILogger logger, string name, ushort domain, string geometry);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "vnc: client {Client} connected")]
    public static partial void VncClientConnected(ILogger logger, string client);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "vnc: client {Client} disconnected: {Reason}")]
    public static partial void VncClientDisconnected(ILogger logger, string client, string reason);
}
