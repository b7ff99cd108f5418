using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Kbdif;

/// <summary>
/// The frontend of a Xen virtual keyboard and pointer: one page granted to the backend
/// (<c>page-gref</c>) with the in ring the backend fills, read with <see cref="ReadAsync"/>.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant backend.</typeparam>
public sealed class Kbdfront<TEvents, TMemory> : IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly TEvents _events;
    private readonly Share _page;
    private readonly Channel _channel;
    private readonly EventRingConsumer _in;
    private readonly SemaphoreSlim _reader = new(1, 1);
    private readonly byte[] _evt = new byte[KbdifConstants.EventSize];
    private EventCounter _seen = EventCounter.Initial;
    private int _disposed;

    private Kbdfront(TEvents events, Share page, Port port, Channel channel, bool requestAbsPointer)
    {
        _events = events;
        _page = page;
        _channel = channel;
        _in = new EventRingConsumer(page, EventRingLayout.KeyboardIn);
        Info = new KbdifFrontendInfo(page.Refs[0], null, port, requestAbsPointer);
    }

    /// <summary>What the frontend publishes.</summary>
    public KbdifFrontendInfo Info { get; }

    /// <summary>Grants one zeroed page to <paramref name="backendDomain"/> and offers it a channel.</summary>
    public static Kbdfront<TEvents, TMemory> Allocate(TEvents events, TMemory memory, ushort backendDomain, bool requestAbsPointer)
    {
        var page = memory.Share(backendDomain, 1, writable: true);
        try
        {
            var (port, channel) = events.Listen(backendDomain);
            return new Kbdfront<TEvents, TMemory>(events, page, port, channel, requestAbsPointer);
        }
        catch
        {
            page.Dispose();
            throw;
        }
    }

    /// <summary>The next event the backend sent; unknown types are passed on with only their type.</summary>
    /// <exception cref="EventChannelException">The backend closed its channel or died.</exception>
    /// <exception cref="RingProtocolException">The backend broke the ring.</exception>
    public async ValueTask<KbdifEvent> ReadAsync(CancellationToken cancellationToken = default)
    {
        await _reader.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                if (_in.TryRead(_evt))
                {
                    // The backend may be waiting for room.
                    _events.Send(_channel);
                    return KbdifEvent.Read(_evt);
                }
                _seen = await _events.RecvAsync(_channel, _seen, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _reader.Release();
        }
    }

    /// <summary>Closes the channel, waits for a read under way to leave, and ends the grant.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _events.Close(_channel);
        // A reader parked on the channel has seen the close, and one past its check of _disposed may
        // still read the ring: the page stays until it leaves.
        await _reader.WaitAsync().ConfigureAwait(false);
        _page.Dispose();
        _reader.Release();
    }
}
