using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Fbif;

/// <summary>
/// The frontend of a Xen virtual framebuffer, as Linux's xen-fbfront is: a 32-bit framebuffer in
/// pages of this domain's memory, named by frame number through a page directory (<c>pd[]</c>) in the
/// shared page. Draw into <see cref="Pixels"/>, then call <see cref="Update"/>; the update reaches the
/// backend as an event (or, while the ring is full, waits merged with the next ones).
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TFrames">The frame backend.</typeparam>
public sealed class Fbfront<TEvents, TFrames> : IAsyncDisposable
    where TEvents : IEvents
    where TFrames : IForeignFrames
{
    /// <summary>Linux's xen-fbfront always draws 32 bits per pixel, red in bits 16-23, green 8-15, blue 0-7.</summary>
    public const int Depth = 32;

    private readonly TEvents _events;
    private readonly FramePages _shared, _directory, _pixels;
    private readonly Channel _channel;
    private readonly EventRingProducer _out;
    private readonly EventRingConsumer _in;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private FramebufferGeometry _geometry;
    private FramebufferRect _dirty;
    private bool _updateWanted, _featureResize, _disposed;
    private uint _refreshPeriod = FbifConstants.NoRefresh;
    private Task _completion = Task.CompletedTask;

    private Fbfront(TEvents events, FramePages shared, FramePages directory, FramePages pixels, Channel channel, Port port, FramebufferGeometry geometry, int memLength, ILogger logger)
    {
        _events = events;
        _shared = shared;
        _directory = directory;
        _pixels = pixels;
        _channel = channel;
        _geometry = geometry;
        MemLength = memLength;
        _logger = logger;
        _out = new EventRingProducer(shared, EventRingLayout.FramebufferOut);
        _in = new EventRingConsumer(shared, EventRingLayout.FramebufferIn);
        Info = new FbifFrontendInfo(shared.Frames[0], port);
    }

    /// <summary>What the frontend publishes.</summary>
    public FbifFrontendInfo Info { get; }

    /// <summary>The framebuffer's memory length (<c>mem_length</c>).</summary>
    public int MemLength { get; }

    /// <summary>The current mode.</summary>
    public FramebufferGeometry Geometry
    {
        get
        {
            lock (_gate)
                return _geometry;
        }
    }

    /// <summary>The framebuffer's memory, <see cref="MemLength"/> bytes; rows start at multiples of the geometry's line length.</summary>
    public Span<byte> Pixels => _pixels.Span[..MemLength];

    /// <summary>The backend's last refresh-period advice in milliseconds; <see cref="FbifConstants.NoRefresh"/> until it gives one.</summary>
    public uint RefreshPeriod => Volatile.Read(ref _refreshPeriod);

    /// <summary>Whether the backend asked for update events (<c>request-update</c>).</summary>
    public bool UpdateWanted
    {
        get
        {
            lock (_gate)
                return _updateWanted;
        }
    }

    /// <summary>Completes when the backend's channel closes or the frontend is disposed; faults if the backend broke the in ring.</summary>
    public Task Completion => _completion;

    /// <summary>
    /// Allocates the framebuffer, its page directory and the shared page, fills the page as
    /// <c>fbif.h</c> says, and offers an event channel to <paramref name="backendDomain"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The backend's limits leave no room for the mode.</exception>
    public static Fbfront<TEvents, TFrames> Allocate(TEvents events, TFrames frames, ushort backendDomain, FbifBackendInfo backend, FbfrontOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        options ??= new FbfrontOptions();
        var memLength = checked(Math.Min(options.VideoRamMiB, backend.VideoRamMiB) * FbifConstants.MiB);
        var width = backend.Width ?? options.Width;
        var height = backend.Height ?? options.Height;
        var geometry = new FramebufferGeometry(width, height, width * (Depth / 8), Depth);
        // As Linux does: a mode that does not fit the memory falls back to the default one.
        if ((long)geometry.LineLength * height > memLength)
            geometry = new FramebufferGeometry(options.Width, options.Height, options.Width * (Depth / 8), Depth);
        geometry.Validate(memLength);
        var pageCount = (memLength + PageBuffer.PageSize - 1) / PageBuffer.PageSize;
        var directoryCount = (pageCount + FbifConstants.FramesPerDirectoryPage - 1) / FbifConstants.FramesPerDirectoryPage;
        FramePages? pixels = null, directory = null, shared = null;
        try
        {
            pixels = frames.Allocate(pageCount);
            directory = frames.Allocate(directoryCount);
            shared = frames.Allocate(1);
            var entries = MemoryMarshal.Cast<byte, ulong>(directory.Span);
            for (var i = 0; i < pageCount; i++)
                entries[i] = pixels.Frames[i];
            var page = shared.Span;
            WriteInt(page, FbifConstants.WidthField, geometry.Width);
            WriteInt(page, FbifConstants.HeightField, geometry.Height);
            WriteInt(page, FbifConstants.LineLengthField, geometry.LineLength);
            WriteInt(page, FbifConstants.MemLengthField, memLength);
            page[FbifConstants.DepthField] = (byte)geometry.Depth;
            var pd = MemoryMarshal.Cast<byte, ulong>(page.Slice(FbifConstants.PageDirectoryField, FbifConstants.PageDirectoryLength * sizeof(ulong)));
            for (var i = 0; i < directoryCount; i++)
                pd[i] = directory.Frames[i];
            var (port, channel) = events.Listen(backendDomain);
            return new Fbfront<TEvents, TFrames>(events, shared, directory, pixels, channel, port, geometry, memLength, options.Logger ?? NullLogger.Instance);
        }
        catch
        {
            shared?.Dispose();
            directory?.Dispose();
            pixels?.Dispose();
            throw;
        }
    }

    private static void WriteInt(Span<byte> page, int offset, int value) => MemoryMarshal.Write(page[offset..], value);

    /// <summary>Takes what the connected backend asked for (<c>request-update</c>, <c>feature-resize</c>) and starts serving the in ring.</summary>
    public void Attach(FbifBackendInfo backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _updateWanted = backend.RequestUpdate;
            _featureResize = backend.FeatureResize;
        }
        Log.FbfrontConnected(_logger, _geometry.ToString(), MemLength, backend.RequestUpdate, backend.FeatureResize);
        _completion = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>
    /// Tells the backend that <paramref name="rect"/> changed. Merged with what is still waiting; sent at
    /// once unless the ring is full (then with the next call or when the backend catches up).
    /// </summary>
    /// <returns>Whether an update event was sent now.</returns>
    public bool Update(FramebufferRect rect)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_updateWanted)
                return false;
            _dirty = _dirty.Union(rect.Clip(_geometry.Width, _geometry.Height));
            return FlushLocked();
        }
    }

    /// <summary>Changes the mode to <paramref name="width"/> by <paramref name="height"/> (32 bits, rows packed) and tells the backend.</summary>
    /// <exception cref="InvalidOperationException">The backend does not follow resizes, or its ring is full.</exception>
    /// <exception cref="InvalidDataException">The mode does not fit the framebuffer's memory.</exception>
    public void Resize(int width, int height)
    {
        var geometry = new FramebufferGeometry(width, height, checked(width * (Depth / 8)), Depth);
        geometry.Validate(MemLength);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_featureResize)
                throw new InvalidOperationException("The backend does not offer feature-resize.");
            Span<byte> evt = stackalloc byte[FbifConstants.EventSize];
            new FbifResize(width, height, geometry.LineLength, Depth, 0).Write(evt);
            if (!_out.TryWrite(evt))
                throw new InvalidOperationException("The backend has not consumed the events before; try again once it has.");
            _geometry = geometry;
            _dirty = default;
            _events.Send(_channel);
        }
    }

    private bool FlushLocked()
    {
        if (_dirty.IsEmpty)
            return false;
        Span<byte> evt = stackalloc byte[FbifConstants.EventSize];
        new FbifUpdate(_dirty.X, _dirty.Y, _dirty.Width, _dirty.Height).Write(evt);
        if (!_out.TryWrite(evt))
            return false;
        _dirty = default;
        _events.Send(_channel);
        return true;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var seen = EventCounter.Initial;
        var evt = new byte[FbifConstants.EventSize];
        while (true)
        {
            if (await EventWait.NextAsync(_events, _channel, seen, cancellationToken).ConfigureAwait(false) is not { } next)
                return;
            seen = next;
            var consumed = false;
            lock (_gate)
            {
                if (_disposed)
                    return;
                while (_in.TryRead(evt))
                {
                    consumed = true;
                    // Unknown in events are ignored, as fbif.h asks.
                    if (evt[0] == FbifConstants.TypeRefreshPeriod)
                        Volatile.Write(ref _refreshPeriod, FbifRefreshPeriod.Read(evt).Period);
                }
                // The backend made room: what waited goes now.
                FlushLocked();
                if (consumed)
                    _events.Send(_channel);
            }
        }
    }

    /// <summary>Stops, closes the channel and frees the framebuffer's memory.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is RingProtocolException or OperationCanceledException)
        {
            // Completion's observers saw it.
        }
        _events.Close(_channel);
        _shared.Dispose();
        _directory.Dispose();
        _pixels.Dispose();
        _stop.Dispose();
    }
}
