using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Nerdbank.Streams;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

/// <summary>
/// One end of a vchan: a byte stream each way between two domains over shared rings and an event
/// channel, as Xen's libxenvchan speaks it. The server (<see cref="Listen{TEvents, TMemory}"/>) shares
/// the pages and offers the event channel; the client (<see cref="Connect{TEvents, TMemory}"/>) maps
/// them. Either end then reads and writes: blocking or async through <see cref="ReadAsync"/> and
/// <see cref="WriteAsync"/>, without waiting through <see cref="TryRead"/> and <see cref="TryWrite"/>,
/// or as a <see cref="Stream"/> (<see cref="AsStream"/>), an <see cref="IDuplexPipe"/>
/// (<see cref="AsPipe"/>) or several named channels (<see cref="VchanMultiplexing"/>).
/// </summary>
/// <remarks>
/// <para>One reader and one writer may work at the same time. Bytes written before a close are never
/// lost: a read returns 0 only once the peer has closed and every byte it wrote has been read.
/// Writing to a peer that has closed or died throws an <see cref="IOException"/>.</para>
/// <para>A peer that breaks the protocol (a ring index outside its window, bad orders or grants) gets a
/// <see cref="VchanProtocolException"/>; nothing outside the shared pages is touched. The ends log
/// through an optional <see cref="ILogger"/> and count on the <see cref="VchanMetrics.MeterName"/> meter.</para>
/// </remarks>
public abstract class VchanEndpoint : IDisposable, IAsyncDisposable
{
    private protected VchanEndpoint()
    {
    }

    /// <summary>This end's instruments, on the <see cref="VchanMetrics.MeterName"/> meter; disposed when the end closes.</summary>
    internal abstract System.Diagnostics.Metrics.Meter Meter { get; }

    /// <summary>This end's plain counters, for tests.</summary>
    internal abstract VchanCounters Counters { get; }

    /// <summary>Whether this end is the server (it shared the pages) rather than the client.</summary>
    public abstract bool IsServer { get; }

    /// <summary>The domain at the other end.</summary>
    public abstract ushort RemoteDomain { get; }

    /// <summary>The grant of the control page and the event port: what the server publishes for its client.</summary>
    public abstract VchanRendezvous Rendezvous { get; }

    /// <summary>The order of the left ring (client to server): it holds 2^order bytes.</summary>
    public abstract int LeftOrder { get; }

    /// <summary>The order of the right ring (server to client): it holds 2^order bytes.</summary>
    public abstract int RightOrder { get; }

    /// <summary>The bytes the ring this end reads holds.</summary>
    public int ReadRingSize => VchanOrders.RingSize(IsServer ? LeftOrder : RightOrder);

    /// <summary>The bytes the ring this end writes holds.</summary>
    public int WriteRingSize => VchanOrders.RingSize(IsServer ? RightOrder : LeftOrder);

    /// <summary>Waiting for a client, connected, or closed (either end).</summary>
    public abstract VchanState State { get; }

    /// <summary>
    /// How many bytes can be read now without waiting. Like <c>libxenvchan_data_ready</c> it asks the
    /// peer to send an event when it writes more.
    /// </summary>
    public abstract int DataReady { get; }

    /// <summary>
    /// How many bytes can be written now without waiting. Like <c>libxenvchan_buffer_space</c> it asks
    /// the peer to send an event when it reads.
    /// </summary>
    public abstract int BufferSpace { get; }

    /// <summary>
    /// How long a read or write that cannot proceed spins, watching the ring, before it blocks on the
    /// event channel. A side whose peer keeps answering only after the spin has yielded its core (the
    /// two ends share one) yields at once in later spins.
    /// </summary>
    public TimeSpan SpinTime { get; set; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Reads what is ready, up to <paramref name="buffer"/>'s length, without waiting.</summary>
    /// <returns>The bytes read; 0 if none are ready (see <see cref="State"/> to tell the end from a pause).</returns>
    /// <exception cref="VchanProtocolException">The peer's index is out of range.</exception>
    /// <exception cref="ObjectDisposedException">This end is closed.</exception>
    public abstract int TryRead(Span<byte> buffer);

    /// <summary>Writes as much of <paramref name="data"/> as fits now, without waiting.</summary>
    /// <returns>The bytes written; 0 if the ring is full.</returns>
    /// <exception cref="IOException">The peer has closed or died.</exception>
    /// <exception cref="ObjectDisposedException">This end is closed.</exception>
    public abstract int TryWrite(ReadOnlySpan<byte> data);

    /// <summary>Reads at least one byte, waiting for the peer if none is ready.</summary>
    /// <returns>The bytes read; 0 once the peer has closed and everything it wrote has been read.</returns>
    public abstract int Read(Span<byte> buffer);

    /// <summary>Reads at least one byte, waiting for the peer if none is ready.</summary>
    /// <returns>The bytes read; 0 once the peer has closed and everything it wrote has been read.</returns>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Writes all of <paramref name="data"/>, waiting for the peer to make room as needed.</summary>
    /// <exception cref="IOException">The peer has closed or died.</exception>
    public abstract void Write(ReadOnlySpan<byte> data);

    /// <summary>Writes all of <paramref name="data"/>, waiting for the peer to make room as needed.</summary>
    /// <exception cref="IOException">The peer has closed or died.</exception>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>For a server: waits until the client has connected (or either end closed).</summary>
    public abstract ValueTask WaitForConnectionAsync(CancellationToken cancellationToken = default);

    /// <summary>The vchan as a <see cref="Stream"/>; disposing the stream closes the vchan when <paramref name="ownsEndpoint"/>.</summary>
    public Stream AsStream(bool ownsEndpoint = true) => new VchanStream(this, ownsEndpoint);

    /// <summary>
    /// The vchan as a duplex pipe: bytes from the peer arrive on <see cref="IDuplexPipe.Input"/>
    /// (Nerdbank.Streams' pipe reader over the vchan's stream), bytes written to
    /// <see cref="IDuplexPipe.Output"/> go into the ring when flushed (a stream pipe writer, with no loop
    /// of its own). Backpressure holds: a full input pipe stops reading the ring, so the peer's
    /// writes wait. Completing the output closes the vchan once its bytes are written (a vchan has no
    /// half close); the input then ends, as it does when the peer closes.
    /// </summary>
    /// <param name="inputOptions">Options of the input pipe; by default it pauses at 1 MiB.</param>
    public IDuplexPipe AsPipe(PipeOptions? inputOptions = null)
    {
        var stream = new VchanStream(this, ownsEndpoint: true, endsAtLocalClose: true);
        var input = stream.UsePipeReader(sizeHint: 1 << 16, inputOptions ?? DefaultInputOptions);
        // Completing the writer flushes it, then disposes the stream: the vchan closes after the bytes.
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: false));
        return new DuplexPipe(input, output);
    }

    private static readonly PipeOptions DefaultInputOptions = new(
        pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, minimumSegmentSize: 1 << 16,
        useSynchronizationContext: false);

    /// <summary>
    /// Shares a control page and rings with <paramref name="clientDomain"/> and offers it an event
    /// channel: a server end, waiting for its client. Publish <see cref="Rendezvous"/> for the client.
    /// </summary>
    /// <param name="events">The event-channel backend; the endpoint does not dispose it.</param>
    /// <param name="memory">The grant backend; the endpoint does not dispose it.</param>
    /// <param name="clientDomain">The only domain that may connect.</param>
    /// <param name="leftMin">The least bytes the client-to-server ring must hold, up to 1 MiB.</param>
    /// <param name="rightMin">The least bytes the server-to-client ring must hold, up to 1 MiB.</param>
    /// <param name="logger">Where the end logs its connect, close and the peer's faults; null for none.</param>
    public static VchanEndpoint<TEvents, TMemory> Listen<TEvents, TMemory>(TEvents events, TMemory memory, ushort clientDomain, int leftMin = 0, int rightMin = 0,
        ILogger? logger = null)
        where TEvents : IEvents where TMemory : IMemory =>
        VchanEndpoint<TEvents, TMemory>.Listen(events, memory, clientDomain, leftMin, rightMin, logger);

    /// <summary>Maps a server's vchan and connects to its event channel: a client end.</summary>
    /// <param name="events">The event-channel backend; the endpoint does not dispose it.</param>
    /// <param name="memory">The grant backend; the endpoint does not dispose it.</param>
    /// <param name="serverDomain">The server's domain.</param>
    /// <param name="rendezvous">The control page's grant and the port the server published.</param>
    /// <param name="logger">Where the end logs its connect, close and the peer's faults; null for none.</param>
    /// <exception cref="VchanProtocolException">The server's control page holds bad orders or grants.</exception>
    public static VchanEndpoint<TEvents, TMemory> Connect<TEvents, TMemory>(TEvents events, TMemory memory, ushort serverDomain, VchanRendezvous rendezvous,
        ILogger? logger = null)
        where TEvents : IEvents where TMemory : IMemory =>
        VchanEndpoint<TEvents, TMemory>.Connect(events, memory, serverDomain, rendezvous, logger);

    // Run once after a close, e.g. to remove the rendezvous from Xenstore.
    private Func<Task>? _onClosed;

    internal void OnClosed(Func<Task> action) => _onClosed = action;

    /// <summary>Closes this end: the peer sees the close once it has read what was written. Closing twice does nothing.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        if (Interlocked.Exchange(ref _onClosed, null) is { } after)
        {
            try
            {
                after().Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The rendezvous is advisory; a store that went away has nothing left to clean.
            }
        }
    }

    /// <summary>Closes this end and waits for its rendezvous to be removed from Xenstore, if it was published there.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        if (Interlocked.Exchange(ref _onClosed, null) is { } after)
        {
            try
            {
                await after().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The rendezvous is advisory; a store that went away has nothing left to clean.
            }
        }
    }

    /// <summary>Closes this end.</summary>
    protected abstract void Dispose(bool disposing);
}
