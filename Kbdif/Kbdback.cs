using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Kbdif;

/// <summary>
/// The backend of a Xen virtual keyboard and pointer: it maps the frontend's page (by grant,
/// <c>page-gref</c>, or, for a frontend that gives only <c>page-ref</c>, by frame number) and sends it
/// key, motion and position events. A full ring makes <see cref="SendAsync"/> wait for the frontend to
/// consume; nothing accepted is dropped.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant backend.</typeparam>
/// <typeparam name="TFrames">The frame backend.</typeparam>
public sealed class Kbdback<TEvents, TMemory, TFrames> : IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
    where TFrames : IForeignFrames
{
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly TFrames _frames;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly byte[] _evt = new byte[KbdifConstants.EventSize];
    private PageBuffer? _page;
    private EventRingProducer? _in;
    private Channel _channel;
    private EventCounter _seen = EventCounter.Initial;
    private int _disposed;

    /// <summary>Creates the backend; nothing is mapped until <see cref="Connect"/>.</summary>
    public Kbdback(TEvents events, TMemory memory, TFrames frames, KbdifBackendInfo? info = null)
    {
        _events = events;
        _memory = memory;
        _frames = frames;
        Info = info ?? new KbdifBackendInfo();
    }

    /// <summary>What the backend publishes.</summary>
    public KbdifBackendInfo Info { get; }

    /// <summary>Whether the connected frontend asked for absolute positions (and the backend offers them).</summary>
    public bool AbsolutePointer { get; private set; }

    /// <summary>Maps the frontend's page and binds its channel.</summary>
    /// <exception cref="GrantException">The page's grant cannot be mapped.</exception>
    /// <exception cref="FrameException">The page's frame is not the frontend's memory.</exception>
    public void Connect(ushort frontendDomain, KbdifFrontendInfo frontend)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_page is not null)
            throw new InvalidOperationException("The backend is already connected to a frontend.");
        PageBuffer page = frontend.PageGref is { } gref
            ? _memory.Map(frontendDomain, gref, writable: true)
            : _frames.MapForeign(frontendDomain, [frontend.PageRef!.Value], writable: true);
        try
        {
            _channel = _events.Connect(frontendDomain, frontend.EventChannel);
        }
        catch
        {
            page.Dispose();
            throw;
        }
        _in = new EventRingProducer(page, EventRingLayout.KeyboardIn);
        AbsolutePointer = Info.FeatureAbsPointer && frontend.RequestAbsPointer;
        _page = page;
    }

    /// <summary>Sends <paramref name="evt"/>, waiting while the ring is full.</summary>
    /// <exception cref="EventChannelException">The frontend closed its channel or died.</exception>
    /// <exception cref="RingProtocolException">The frontend broke the ring.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A key code past Linux's <c>KEY_MAX</c>.</exception>
    public async ValueTask SendAsync(KbdifEvent evt, CancellationToken cancellationToken = default)
    {
        if (evt.Type == KbdifConstants.TypeKey && evt.Keycode > KbdifConstants.KeyMax)
            throw new ArgumentOutOfRangeException(nameof(evt), evt.Keycode, "A key code is at most KEY_MAX (0x2ff).");
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var ring = _in ?? throw new InvalidOperationException("The backend is not connected.");
            evt.Write(_evt);
            while (true)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                if (ring.TryWrite(_evt))
                {
                    _events.Send(_channel);
                    return;
                }
                _seen = await _events.RecvAsync(_channel, _seen, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Unmaps the frontend's page and closes the channel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_page is not null)
            _events.Close(_channel);
        // A sender parked on the channel has seen the close; wait for it to leave before unmapping.
        await _writer.WaitAsync().ConfigureAwait(false);
        _page?.Dispose();
        _writer.Release();
    }
}
