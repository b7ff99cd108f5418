using Microsoft.Extensions.Logging;

namespace Vchan;

/// <summary>What a vchan end logs: its handshake, its close and the peer's, and a peer's protocol faults. Nothing per read or write.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug,
        Message = "Vchan server for domain {ClientDomain} listening: control page grant {ControlPage}, event port {Port}, ring orders {LeftOrder} (left) and {RightOrder} (right)")]
    public static partial void Listening(ILogger logger, ushort clientDomain, uint controlPage, uint port, int leftOrder, int rightOrder);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Vchan {Side} connected to domain {RemoteDomain}: reads a ring of {ReadRingSize} bytes, writes one of {WriteRingSize}")]
    public static partial void Connected(ILogger logger, string side, ushort remoteDomain, int readRingSize, int writeRingSize);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Vchan {Side}: the peer, domain {RemoteDomain}, has closed or died")]
    public static partial void PeerClosed(ILogger logger, string side, ushort remoteDomain);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Vchan {Side} to domain {RemoteDomain} closed after reading {BytesRead} bytes and writing {BytesWritten}")]
    public static partial void Closed(ILogger logger, string side, ushort remoteDomain, long bytesRead, long bytesWritten);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Vchan peer domain {RemoteDomain} broke the protocol: {What}")]
    public static partial void ProtocolFault(ILogger logger, ushort remoteDomain, string what);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Vchan {Side} to domain {RemoteDomain} now carries named channels")]
    public static partial void Multiplexing(ILogger logger, string side, ushort remoteDomain);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Vchan {Side} to domain {RemoteDomain} stopped carrying named channels")]
    public static partial void MultiplexingEnded(ILogger logger, string side, ushort remoteDomain);
}
