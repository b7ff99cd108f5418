using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Xen.Store.Server;

/// <summary>
/// A Xenstore daemon: one store shared by any number of connections, each a duplex byte pipe that
/// carries <c>xs_wire.h</c> messages. Host it on a Unix socket (<see cref="ListenAsync(string, Action?, CancellationToken)"/>), in the
/// heap for tests (<see cref="Connect"/>), or on any transport (<see cref="ServeAsync"/>).
/// </summary>
/// <remarks>
/// Requests are processed one at a time across all connections, as in the C daemon, so every
/// request sees a consistent store. Each connection gets its replies in request order, with watch
/// events interleaved. A connection that breaks the framing (a length above
/// <see cref="XsWire.PayloadMax"/>) is dropped; every other malformed request gets an error reply.
/// </remarks>
public sealed partial class XenstoreServer : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Store _store;
    private readonly List<Watch> _watches = [];
    private readonly HashSet<ServerConnection> _connections = [];
    private readonly HashSet<ushort> _introduced = [];
    private readonly Dictionary<ushort, ushort> _targets = [];
    private readonly XenstoreServerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly byte[] _reply = new byte[XsWire.PayloadMax];
    private readonly PathCache _paths = new();
    private int _nextConnection;
    private int _watchesPerConnection;
    private int _transactionsPerConnection;
    private uint _nextTransaction;

    /// <summary>Creates a server with an empty store (just the root, owned by dom0).</summary>
    public XenstoreServer(XenstoreServerOptions? options = null)
    {
        _options = options ?? new XenstoreServerOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
        _store = new Store(_options.MaxNodesPerDomain);
        // Copied: dom0 may change them while the server runs (XS_CONTROL "quota set"), and the caller's options stay as given.
        _watchesPerConnection = _options.MaxWatchesPerConnection;
        _transactionsPerConnection = _options.MaxTransactionsPerConnection;
    }

    /// <summary>How many connections are open.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_lock)
                return _connections.Count;
        }
    }

    /// <summary>Bytes of replies and events queued and not yet sent, over all connections.</summary>
    internal long PendingOutputBytes
    {
        get
        {
            lock (_lock)
                return _connections.Sum(c => c.Outbox.Pending);
        }
    }

    /// <summary>
    /// Serves one connection until the peer closes it, breaks the framing, is dropped, or
    /// <paramref name="cancellationToken"/> fires. The connection acts as <paramref name="domain"/>.
    /// </summary>
    public async Task ServeAsync(IDuplexPipe transport, ushort domain = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ServerConnection connection;
        lock (_lock)
        {
            connection = new ServerConnection(++_nextConnection, domain, _options.MaxPendingOutputBytes);
            _connections.Add(connection);
        }
        XenstoreServerMetrics.ConnectionsChanged(1);
        Log.Connected(_logger, connection.Id, domain);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connection.Aborted, _stopping.Token);
        var pump = connection.Outbox.PumpAsync(transport.Output, linked.Token);
        string reason;
        try
        {
            reason = await ReadRequestsAsync(connection, transport.Input, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            reason = _stopping.IsCancellationRequested ? "the server stopped" : connection.Aborted.IsCancellationRequested ? "the server dropped it" : "its serving was cancelled";
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            reason = "transport error: " + e.Message;
        }
        finally
        {
            Disconnect(connection);
            Exception? unsent = null;
            try
            {
                await pump.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                unsent = e;
            }
            await transport.Input.CompleteAsync().ConfigureAwait(false);
            try
            {
                // Completing without an error flushes what a failed or cancelled send left buffered:
                // with one, the transport drops it, or a peer that does not read would hold the
                // connection open for ever. A client that is gone cannot take it either way.
                await transport.Output.CompleteAsync(unsent).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
        }
        Log.Disconnected(_logger, connection.Id, connection.Domain, reason);
    }

    /// <summary>Opens an in-heap connection acting as <paramref name="domain"/> and returns the client's end of it.</summary>
    /// <remarks>The connection is served in the background until the client completes its output or the server is disposed.</remarks>
    public IDuplexPipe Connect(ushort domain = 0)
    {
        var options = new PipeOptions(useSynchronizationContext: false);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        _ = ServeAsync(new DuplexPipe(toServer.Reader, toClient.Writer), domain);
        return new DuplexPipe(toClient.Reader, toServer.Writer);
    }

    /// <summary>Drops every connection and stops listening.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        lock (_lock)
        {
            foreach (var c in _connections)
                c.Abort();
            // The domains go with the store: the process-wide count forgets them.
            XenstoreServerMetrics.DomainsChanged(-_introduced.Count);
            _introduced.Clear();
        }
    }

    /// <summary>Serves requests until the peer stops; returns why the connection ends.</summary>
    private async Task<string> ReadRequestsAsync(ServerConnection connection, PipeReader input, CancellationToken cancellationToken)
    {
        var payload = new byte[XsWire.PayloadMax];
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var violation = false;
            var heldBack = false;
            // The replies to what this read brought go out together, in one write, after the loop.
            connection.Outbox.BeginBatch();
            try
            {
            while (buffer.Length >= XsWireHeader.Size)
            {
                // A peer that does not read its replies is served no further than its limit, however
                // many requests it has queued: the rest wait in the pipe until it reads.
                if (connection.Outbox.IsFull)
                {
                    heldBack = true;
                    break;
                }
                var header = ReadHeader(buffer);
                if (header.Len > XsWire.PayloadMax)
                {
                    Log.ProtocolFault(_logger, connection.Id, connection.Domain, $"a {header.Type} header announces {header.Len} payload bytes, above {XsWire.PayloadMax}");
                    violation = true;
                    break;
                }
                var length = XsWireHeader.Size + header.Len;
                if (buffer.Length < length)
                    break;
                buffer.Slice(XsWireHeader.Size, header.Len).CopyTo(payload);
                Process(connection, header, payload.AsSpan(0, (int)header.Len));
                buffer = buffer.Slice(length);
            }
            }
            finally
            {
                connection.Outbox.EndBatch();
            }
            // Held back, the requests left are complete and waiting: look at them again once drained.
            input.AdvanceTo(buffer.Start, heldBack ? buffer.Start : buffer.End);
            if (violation)
                return "it broke the wire";
            if (result.IsCompleted)
            {
                if (buffer.IsEmpty)
                    return "the peer closed it";
                Log.ProtocolFault(_logger, connection.Id, connection.Domain, $"it closed the connection {buffer.Length} bytes into a message");
                return "the peer closed it in the middle of a message";
            }
            await connection.Outbox.WhenDrainedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static XsWireHeader ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[XsWireHeader.Size];
        buffer.Slice(0, XsWireHeader.Size).CopyTo(header);
        return XsWireHeader.Read(header);
    }

    private void Disconnect(ServerConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
            XenstoreServerMetrics.WatchesChanged(-_watches.RemoveAll(w => w.Connection == connection));
            connection.Transactions.Clear();
        }
        XenstoreServerMetrics.ConnectionsChanged(-1);
        connection.Abort();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
