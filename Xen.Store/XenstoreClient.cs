using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Xen.Store;

/// <summary>
/// A Xenstore client over any duplex byte stream: a daemon's Unix socket (<see cref="ConnectAsync"/>),
/// an in-heap server, or a device such as <c>/dev/xen/xenbus</c> opened as a <see cref="Stream"/>.
/// </summary>
/// <remarks>
/// Requests are pipelined: any number may be in flight, each matched to its reply by <c>req_id</c>.
/// Watch events are delivered to the <see cref="WatchAsync"/> enumeration that registered them.
/// Thread-safe.
/// </remarks>
public sealed partial class XenstoreClient : XenstoreOperations, IAsyncDisposable, IDisposable
{
    private readonly IDuplexPipe _transport;
    private readonly Outbox _outbox;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, PendingRequest> _pending = [];
    // Requests' awaitables kept for reuse, at most FreeMax of them.
    private readonly Stack<PendingRequest> _free = new();
    private const int FreeMax = 1024;
    private readonly Dictionary<string, Channel<WatchEvent>> _watches = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _pump;
    private readonly Task _reader;
    private readonly ILogger _logger;
    private uint _nextRequest;
    // Events queued for one watch whose reader has not taken them; past this the watch fails.
    internal const int WatchBacklog = 4096;
    private long _nextToken;
    private Exception? _closed;
    private int _disposed;

    private XenstoreClient(IDuplexPipe transport, ILogger? logger, string description, bool oneMessagePerWrite = false)
    {
        _transport = transport;
        // A request goes to the transport on the thread that makes it, except to the xenbus device,
        // whose writes may block: there the pump sends.
        _outbox = new Outbox(long.MaxValue, sendInline: !oneMessagePerWrite);
        _logger = logger ?? NullLogger.Instance;
        Log.Connected(_logger, description);
        _pump = _outbox.PumpAsync(transport.Output, _closing.Token, oneMessagePerWrite);
        // A failed send ends the connection: the requests waiting for replies fail instead of waiting forever.
        _pump.ContinueWith(static (pump, state) => ((XenstoreClient)state!).SendFailed(pump.Exception!.GetBaseException()), this,
                           CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _reader = ReadRepliesAsync();
    }

    /// <summary>Connects to a daemon's Unix socket: <paramref name="socketPath"/>, else <see cref="XsWire.DefaultSocketPath"/>.</summary>
    /// <param name="socketPath">The daemon's socket; null for <see cref="XsWire.DefaultSocketPath"/>.</param>
    /// <param name="cancellationToken">Abandons connecting.</param>
    /// <param name="logger">Where the client logs its connection's life, malformed replies and quota hits; null for none.</param>
    public static async Task<XenstoreClient> ConnectAsync(string? socketPath = null, CancellationToken cancellationToken = default, ILogger? logger = null)
    {
        var path = socketPath ?? XsWire.DefaultSocketPath;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new XenstoreClient(new XenstoreSocketTransport(socket, "Xenstore client"), logger, "socket " + path);
    }

    /// <summary>A client over a stream that carries <c>xs_wire.h</c> messages both ways; the client owns it.</summary>
    /// <param name="stream">The stream; the client owns it.</param>
    /// <param name="logger">Where the client logs its connection's life, malformed replies and quota hits; null for none.</param>
    public static XenstoreClient Connect(Stream stream, ILogger? logger = null) => Connect(stream, logger, "a stream");

    private static XenstoreClient Connect(Stream stream, ILogger? logger, string description) =>
        new(new Transport(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), PipeWriter.Create(stream)), logger, description);

    /// <summary>
    /// Opens the kernel's Xenstore device (Linux <c>/dev/xen/xenbus</c>, or <c>/proc/xen/xenbus</c>),
    /// which forwards requests to the daemon wherever it runs: the way a domain without the daemon's
    /// socket reaches Xenstore. Each request goes to the device in a write of its own, as it requires.
    /// </summary>
    /// <param name="devicePath">The device.</param>
    /// <param name="logger">Where the client logs its connection's life, malformed replies and quota hits; null for none.</param>
    public static XenstoreClient OpenXenbus(string devicePath = XsWire.XenbusDevicePath, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(devicePath);
        return new XenstoreClient(new XenbusDeviceTransport(devicePath), logger, "device " + devicePath, oneMessagePerWrite: true);
    }

    /// <summary>
    /// A guest's client over its Xenstore shared page: <paramref name="page"/> is the page it granted
    /// to the daemon's domain and <paramref name="channel"/> the event channel it offered, both
    /// announced by dom0's <c>INTRODUCE</c> (see <c>XenstoreServer.AcceptDomainPages</c> in Xen.Store.Server).
    /// The caller keeps owning the page and the channel and may release them once the client is disposed.
    /// </summary>
    /// <param name="events">The guest's event channels.</param>
    /// <param name="channel">The channel offered to the daemon.</param>
    /// <param name="page">The shared page.</param>
    /// <param name="logger">Where the client logs its connection's life, malformed replies and quota hits; null for none.</param>
    public static XenstoreClient ConnectPage<TEvents>(TEvents events, Xen.Evtchn.Channel channel, Xen.Gnt.PageBuffer page, ILogger? logger = null)
        where TEvents : Xen.Evtchn.IEvents
    {
        ArgumentNullException.ThrowIfNull(page);
        return new XenstoreClient(new XenstorePageTransport<TEvents>(events, channel, page, daemon: false), logger, "the shared page");
    }

    /// <summary>A client over a duplex pipe, e.g. <c>XenstoreServer.Connect</c>'s.</summary>
    /// <param name="transport">The pipe.</param>
    /// <param name="logger">Where the client logs its connection's life, malformed replies and quota hits; null for none.</param>
    public static XenstoreClient Connect(IDuplexPipe transport, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new XenstoreClient(transport, logger, "a duplex pipe");
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it; when the commit conflicts
    /// (<see cref="XsError.EAGAIN"/>) the whole body runs again in a new transaction. If the body
    /// throws, or the token is cancelled before the commit, the transaction is aborted and nothing is
    /// left behind.
    /// </summary>
    public async Task<T> TransactionAsync<T>(Func<XenstoreTransaction, Task<T>> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Once sent, a start opens a transaction whatever the caller's token says: a caller that
            // gives up before its id comes leaves it to be aborted when it does, not left open to count
            // against the daemon's quota of them.
            var start = RequestAsync(XsMessageType.TransactionStart, [0], 0, CancellationToken.None);
            uint id;
            try
            {
                id = TransactionId(await start.WaitAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _ = AbortWhenStartedAsync(start);
                throw;
            }
            var tx = new XenstoreTransaction(this, id);
            T result;
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                result = await body(tx).ConfigureAwait(false);
                // A cancelled caller's transaction is aborted, not committed, whatever its body did.
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (Exception e)
            {
                await AbortQuietlyAsync(id, cancellationToken).ConfigureAwait(false);
                if (e is XenstoreException { Error: XsError.EAGAIN })
                    continue;
                throw;
            }
            try
            {
                // A caller that gives up on the commit's reply cannot tell whether it took.
                await EndTransactionAsync(id, commit: true, cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (XenstoreException e) when (e.Error == XsError.EAGAIN)
            {
                // Someone committed what we read: back off a little, more as conflicts repeat.
                if (attempt > 2)
                    await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 20)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs <paramref name="body"/> in a transaction, retried on <see cref="XsError.EAGAIN"/>.</summary>
    public Task TransactionAsync(Func<XenstoreTransaction, Task> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return TransactionAsync(async tx =>
        {
            await body(tx).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Watches <paramref name="path"/> (or a special path such as <see cref="XsWire.ReleaseDomain"/>):
    /// the first event comes at once, then one for every change to the path or below it. The watch
    /// is removed when the enumeration ends. A reader that falls 4096 events behind gets the events
    /// queued so far and then a <see cref="XenstoreException"/>, rather than a queue that grows for ever.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var token = "mirage-" + Interlocked.Increment(ref _nextToken).ToString(CultureInfo.InvariantCulture);
        var channel = Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(WatchBacklog) { SingleReader = true, SingleWriter = true });
        lock (_lock)
        {
            if (_closed is not null)
                throw new XenstoreException("The connection to the daemon is closed.", _closed);
            _watches.Add(token, channel);
        }
        try
        {
            await RequestAsync(XsMessageType.Watch, Args(path, token), 0, cancellationToken).ConfigureAwait(false);
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return e;
        }
        finally
        {
            lock (_lock)
                _watches.Remove(token);
            if (_closed is null)
            {
                try
                {
                    await RequestAsync(XsMessageType.Unwatch, Args(path, token), 0, CancellationToken.None).ConfigureAwait(false);
                }
                catch (XenstoreException)
                {
                }
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, checking it now and after every change at or below <paramref name="path"/>.</summary>
    public async Task WaitUntilAsync(string path, Func<XenstoreClient, Task<bool>> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await foreach (var _ in WatchAsync(path, cancellationToken).ConfigureAwait(false))
        {
            if (await condition(this).ConfigureAwait(false))
                return;
        }
        cancellationToken.ThrowIfCancellationRequested();
        throw new XenstoreException(XsError.EIO, "The connection closed while waiting.");
    }

    /// <summary>Waits until the value at <paramref name="path"/> (null while the node is missing) satisfies <paramref name="condition"/>, and returns it.</summary>
    public async Task<string?> WaitForValueAsync(string path, Func<string?, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        string? value = null;
        await WaitUntilAsync(path, async c =>
        {
            value = await c.TryReadAsync(path, cancellationToken).ConfigureAwait(false);
            return condition(value);
        }, cancellationToken).ConfigureAwait(false);
        return value;
    }

    /// <summary>The home path of <paramref name="domain"/>, as the daemon says (<c>GET_DOMAIN_PATH</c>).</summary>
    public async Task<string> GetDomainPathAsync(ushort domain, CancellationToken cancellationToken = default) =>
        Split(await RequestAsync(XsMessageType.GetDomainPath, Args(domain.ToString(CultureInfo.InvariantCulture)), 0, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Makes this connection act as <paramref name="domain"/> from now on: its permissions,
    /// quotas and relative paths become that domain's. Only a dom0 connection may do this, and only
    /// once. Sent as <c>XS_CONTROL "restrict|&lt;domid&gt;|"</c>; see docs/xenstore.md.
    /// </summary>
    public Task ActAsDomainAsync(ushort domain, CancellationToken cancellationToken = default) =>
        RequestAsync(XsMessageType.Control, Args("restrict", domain.ToString(CultureInfo.InvariantCulture)), 0, cancellationToken);

    /// <summary>Dom0 tells the daemon about a domain (<c>INTRODUCE</c>), firing <c>@introduceDomain</c>.</summary>
    public Task IntroduceAsync(ushort domain, long mfn, uint port, CancellationToken cancellationToken = default) =>
        RequestAsync(XsMessageType.Introduce, Args(domain.ToString(CultureInfo.InvariantCulture), mfn.ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture)), 0, cancellationToken);

    /// <summary>Dom0 tells the daemon a domain is gone (<c>RELEASE</c>), firing <c>@releaseDomain</c>.</summary>
    public Task ReleaseAsync(ushort domain, CancellationToken cancellationToken = default) =>
        RequestAsync(XsMessageType.Release, Args(domain.ToString(CultureInfo.InvariantCulture)), 0, cancellationToken);

    /// <summary>Whether the daemon talks to <paramref name="domain"/> (<c>IS_DOMAIN_INTRODUCED</c>).</summary>
    public async Task<bool> IsDomainIntroducedAsync(ushort domain, CancellationToken cancellationToken = default) =>
        Split(await RequestAsync(XsMessageType.IsDomainIntroduced, Args(domain.ToString(CultureInfo.InvariantCulture)), 0, cancellationToken).ConfigureAwait(false))[0] == "T";

    /// <summary>
    /// Closes the connection and waits for it to end, as <see cref="DisposeAsync"/> does; for owners that
    /// dispose synchronously, such as a dependency-injection container disposed with <c>Dispose()</c>.
    /// </summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the connection; requests in flight fail with <see cref="XenstoreException"/>. Closing twice does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _outbox.Complete();
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or InvalidOperationException)
        {
        }
        try
        {
            // Completing flushes whatever a failed send left buffered; a daemon that is gone cannot take it.
            await _transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
        }
        await _closing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _closing.Dispose();
    }

    private protected override Task<byte[]> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken) =>
        RequestAsync(type, payload, 0, cancellationToken);

    private protected override Task<byte[]> SendPathAsync(XsMessageType type, string path, CancellationToken cancellationToken) =>
        RequestAsync(type, path, 0, cancellationToken);

    private protected override ValueTask<int> ReadIntoAsync(string path, Memory<byte> destination, CancellationToken cancellationToken) =>
        ReadIntoAsync(path, destination, 0, cancellationToken);

    /// <summary>Sends one request and waits for its reply's payload; an error reply throws.</summary>
    internal async Task<byte[]> RequestAsync(XsMessageType type, byte[] payload, uint txId, CancellationToken cancellationToken)
    {
        if (payload.Length > XsWire.PayloadMax)
            throw new XenstoreException(XsError.E2BIG, $"A request carries at most {XsWire.PayloadMax} bytes.");
        var request = Rent(type, default, copy: true, inlineContinuation: false);
        Send(request, type, payload, null, txId, cancellationToken);
        return (await new ValueTask<XsReply>(request, request.Version).ConfigureAwait(false)).Payload!;
    }

    /// <summary>Sends one request whose payload is <paramref name="path"/> and its NUL, and waits for its reply's payload.</summary>
    internal async Task<byte[]> RequestAsync(XsMessageType type, string path, uint txId, CancellationToken cancellationToken)
    {
        CheckPath(path);
        var request = Rent(type, default, copy: true, inlineContinuation: false);
        Send(request, type, default, path, txId, cancellationToken);
        return (await new ValueTask<XsReply>(request, request.Version).ConfigureAwait(false)).Payload!;
    }

    /// <summary>
    /// A <c>READ</c> whose value goes straight into <paramref name="destination"/>; the awaiter's
    /// continuation runs on the connection's reader, which sends what it queues when it is done.
    /// </summary>
    internal ValueTask<int> ReadIntoAsync(string path, Memory<byte> destination, uint txId, CancellationToken cancellationToken)
    {
        CheckPath(path);
        var request = Rent(XsMessageType.Read, destination, copy: false, inlineContinuation: true);
        Send(request, XsMessageType.Read, default, path, txId, cancellationToken);
        return new ValueTask<int>(request, request.Version);
    }

    private static void CheckPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        // UTF-8 takes at most 3 bytes a char: only long paths are counted exactly.
        if (path.Length * 3 + 1 > XsWire.PayloadMax && Encoding.UTF8.GetByteCount(path) + 1 > XsWire.PayloadMax)
            throw new XenstoreException(XsError.E2BIG, $"A request carries at most {XsWire.PayloadMax} bytes.");
    }

    private PendingRequest Rent(XsMessageType type, Memory<byte> destination, bool copy, bool inlineContinuation)
    {
        PendingRequest? request;
        lock (_lock)
            _free.TryPop(out request);
        request ??= new PendingRequest(this);
        request.Start(type, destination, copy, inlineContinuation);
        return request;
    }

    /// <summary>Takes back a request's awaitable once its caller has the result.</summary>
    internal void Return(PendingRequest request)
    {
        lock (_lock)
        {
            if (_free.Count < FreeMax)
                _free.Push(request);
        }
    }

    // Queues the request (payload, or the path and its NUL); a closed connection fails it at once.
    private void Send(PendingRequest request, XsMessageType type, ReadOnlySpan<byte> payload, string? path, uint txId, CancellationToken cancellationToken)
    {
        Exception? closed = null;
        lock (_lock)
        {
            if (_closed is not null)
            {
                closed = new XenstoreException("The connection to the daemon is closed.", _closed);
            }
            else
            {
                uint id;
                do
                {
                    id = ++_nextRequest;
                }
                while (_pending.ContainsKey(id));
                request.Id = id;
                _pending.Add(id, request);
                // A cancelled request forgets its entry: a daemon that never answers must not make them
                // pile up. Its late reply, if one comes, finds no entry and is dropped.
                request.Register(cancellationToken);
                // A token cancelled by now fails the request, in Register or once the lock is free: the
                // request must not go out as well, or the daemon would carry out (commit, say) what the
                // caller saw cancelled.
                if (cancellationToken.IsCancellationRequested)
                    return;
                if (path is null)
                    _outbox.TryWrite(type, id, txId, payload);
                else
                    _outbox.TryWrite(type, id, txId, path);
            }
        }
        if (closed is not null)
        {
            request.Fail(closed);
            return;
        }
        XenstoreMetrics.RequestSent(type);
    }

    /// <summary>Fails a request whose caller cancelled it, unless its reply came first.</summary>
    internal void Cancel(PendingRequest request, uint id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue(id, out var current) || current != request)
                return;
            _pending.Remove(id);
        }
        request.Fail(new TaskCanceledException(null, null, cancellationToken));
    }

    /// <summary>The exception for an error reply to a <paramref name="type"/> request, counted and logged if it is a quota's.</summary>
    internal XenstoreException ErrorReply(XsMessageType type, byte[] payload)
    {
        var error = XsWire.ParseError(payload);
        if (IsQuotaHit(type, error, payload))
        {
            XenstoreMetrics.DaemonQuotaHit();
            Log.QuotaHit(_logger, type, ErrorName(payload));
        }
        return new XenstoreException(error, $"{type} failed: {error}.");
    }

    internal XenstoreException MalformedReply(XsMessageType type, XsMessageType replyType)
    {
        Log.MalformedReply(_logger, $"the reply to {type} has type {replyType}");
        return new XenstoreException(XsError.EIO, $"The reply to {type} has type {replyType}.");
    }

    /// <summary>
    /// Whether an error reply says a quota is spent. oxenstored answers <c>EQUOTA</c> (not an
    /// <c>xs_wire.h</c> name, so it parses as <see cref="XsError.EIO"/>); the C daemon and ours answer
    /// <c>ENOSPC</c> for nodes and transactions and <c>E2BIG</c> for watches.
    /// </summary>
    private static bool IsQuotaHit(XsMessageType request, XsError error, ReadOnlySpan<byte> payload) =>
        error == XsError.ENOSPC || (error == XsError.E2BIG && request == XsMessageType.Watch) || payload.StartsWith("EQUOTA"u8);

    private static string ErrorName(ReadOnlySpan<byte> payload)
    {
        var nul = payload.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul < 0 ? payload[..Math.Min(payload.Length, 16)] : payload[..Math.Min(nul, 16)]);
    }

    // Sends a transaction's end whatever the token says: one kept from going out would leave the
    // transaction open. The token only stops the wait for the daemon's reply.
    private Task<byte[]> EndTransactionAsync(uint id, bool commit, CancellationToken cancellationToken) =>
        RequestAsync(XsMessageType.TransactionEnd, commit ? "T\0"u8.ToArray() : "F\0"u8.ToArray(), id, CancellationToken.None).WaitAsync(cancellationToken);

    private async Task AbortQuietlyAsync(uint id, CancellationToken cancellationToken)
    {
        try
        {
            await EndTransactionAsync(id, commit: false, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task AbortWhenStartedAsync(Task<byte[]> start)
    {
        try
        {
            await AbortQuietlyAsync(TransactionId(await start.ConfigureAwait(false)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
            // The connection closed, and its transactions with it.
        }
    }

    private static uint TransactionId(byte[] reply)
    {
        var text = Encoding.ASCII.GetString(reply).TrimEnd('\0');
        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new XenstoreException(XsError.EIO, $"The daemon's transaction id \"{text}\" is not a number.");
    }

    private async Task ReadRepliesAsync()
    {
        var input = _transport.Input;
        Exception reason = new XenstoreException(XsError.EIO, "The daemon closed the connection.");
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                // Requests made by the continuations of these replies go out together, after them.
                _outbox.BeginBatch();
                try
                {
                    while (TryTake(ref buffer, out var header, out var payload))
                        Dispatch(header, payload);
                }
                finally
                {
                    _outbox.EndBatch();
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                    break;
            }
            Log.Closed(_logger, "the daemon closed the connection");
        }
        catch (OperationCanceledException)
        {
            reason = new XenstoreException(XsError.EIO, "The client was closed.");
            Log.Closed(_logger, "the client was closed");
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException or XenstoreException)
        {
            reason = e;
            Log.ConnectionLost(_logger, e.Message, e);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            Close(reason);
        }
    }

    private bool TryTake(ref ReadOnlySequence<byte> buffer, out XsWireHeader header, out ReadOnlySequence<byte> payload)
    {
        header = default;
        payload = default;
        if (buffer.Length < XsWireHeader.Size)
            return false;
        Span<byte> bytes = stackalloc byte[XsWireHeader.Size];
        buffer.Slice(0, XsWireHeader.Size).CopyTo(bytes);
        header = XsWireHeader.Read(bytes);
        if (header.Len > XsWire.PayloadMax)
        {
            Log.MalformedReply(_logger, $"a payload of {header.Len} bytes, above {XsWire.PayloadMax}");
            throw new XenstoreException(XsError.EIO, $"The daemon sent a payload of {header.Len} bytes.");
        }
        if (buffer.Length < XsWireHeader.Size + header.Len)
            return false;
        payload = buffer.Slice(XsWireHeader.Size, header.Len);
        buffer = buffer.Slice(XsWireHeader.Size + header.Len);
        return true;
    }

    private void Dispatch(XsWireHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.Type == XsMessageType.WatchEvent)
        {
            var parts = Split(payload.ToArray());
            if (parts.Length < 2)
            {
                Log.MalformedReply(_logger, $"a watch event with {parts.Length} of its 2 strings");
                return;
            }
            XenstoreMetrics.WatchEventReceived();
            Channel<WatchEvent>? channel;
            lock (_lock)
                _watches.TryGetValue(parts[1], out channel);
            if (channel is not null && !channel.Writer.TryWrite(new WatchEvent(parts[0], parts[1]))
                && channel.Writer.TryComplete(new XenstoreException(XsError.ENOSPC, $"The watch fell {WatchBacklog} events behind its reader (the last at {parts[0]}).")))
            {
                XenstoreMetrics.WatchBacklogHit();
                Log.WatchBacklogFull(_logger, parts[0], WatchBacklog);
            }
            return;
        }
        PendingRequest? reply;
        lock (_lock)
            _pending.Remove(header.ReqId, out reply);
        reply?.Complete(header.Type, payload);
    }

    /// <summary>Requests sent and not yet answered or cancelled.</summary>
    internal int PendingRequests
    {
        get
        {
            lock (_lock)
                return _pending.Count;
        }
    }

    private void SendFailed(Exception reason)
    {
        Log.ConnectionLost(_logger, "sending failed: " + reason.Message, reason);
        Close(reason);
    }

    private void Close(Exception reason)
    {
        List<PendingRequest> pending;
        List<Channel<WatchEvent>> watches;
        lock (_lock)
        {
            _closed ??= reason;
            pending = [.. _pending.Values];
            _pending.Clear();
            watches = [.. _watches.Values];
        }
        _outbox.Complete();
        foreach (var p in pending)
            p.Fail(new XenstoreException("The connection to the daemon is closed.", reason));
        foreach (var w in watches)
            w.Writer.TryComplete(new XenstoreException("The connection to the daemon is closed.", reason));
    }

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
