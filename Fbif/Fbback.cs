using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Fbif;

/// <summary>
/// The backend of a Xen virtual framebuffer, as QEMU's is: it maps the frontend's shared page and,
/// through the page directory, its framebuffer (by frame number, <see cref="IForeignFrames"/>), and
/// turns the frontend's update and resize events into <see cref="Damaged"/> and <see cref="Resized"/>.
/// What the frontend wrote is copied once and checked: a <c>mem_length</c> past <c>videoram</c>, a mode
/// past <c>mem_length</c>, a directory entry that is not the frontend's memory, a resize that does not
/// fit, or a broken ring index refuses the connection or ends it; an update outside the screen is
/// clipped; a flood of updates is merged into one damage per batch of the ring.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TFrames">The frame backend; the backend's domain must be privileged.</typeparam>
public sealed class Fbback<TEvents, TFrames> : IFramebufferSource, IAsyncDisposable
    where TEvents : IEvents
    where TFrames : IForeignFrames
{
    private readonly TEvents _events;
    private readonly TFrames _frames;
    private readonly FbbackOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private ForeignMapping? _shared, _pixels;
    private EventRingConsumer? _out;
    private EventRingProducer? _in;
    private Channel _channel;
    private FramebufferGeometry _geometry;
    private long _memLength;
    private bool _connected, _disposed;
    private Task _completion = Task.CompletedTask;
    private long _updateEvents, _damageBatches;

    /// <summary>Creates the backend; nothing is mapped until <see cref="Connect"/>.</summary>
    public Fbback(TEvents events, TFrames frames, FbbackOptions? options = null)
    {
        _events = events;
        _frames = frames;
        _options = options ?? new FbbackOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
        Info = _options.ToBackendInfo();
    }

    /// <summary>What the backend publishes.</summary>
    public FbifBackendInfo Info { get; }

    /// <inheritdoc />
    public FramebufferGeometry Geometry
    {
        get
        {
            lock (_gate)
                return _geometry;
        }
    }

    /// <summary>The frontend's <c>mem_length</c>.</summary>
    public long MemLength
    {
        get
        {
            lock (_gate)
                return _memLength;
        }
    }

    /// <summary>Update events received.</summary>
    public long UpdateEvents => Interlocked.Read(ref _updateEvents);

    /// <summary>Times <see cref="Damaged"/> was raised: once per batch of events, however many updates it held.</summary>
    public long DamageBatches => Interlocked.Read(ref _damageBatches);

    /// <summary>Completes when the frontend closes its channel or the backend is disposed; faults when the frontend broke the protocol.</summary>
    public Task Completion => _completion;

    /// <inheritdoc />
    public event Action<FramebufferRect>? Damaged;

    /// <inheritdoc />
    public event Action<FramebufferGeometry>? Resized;

    /// <summary>Maps the frontend's page, directory and framebuffer, binds its channel and starts serving.</summary>
    /// <exception cref="InvalidDataException">What the frontend published or wrote in its page is out of range.</exception>
    /// <exception cref="FrameException">A page the frontend named is not its memory.</exception>
    /// <exception cref="EventChannelException">The channel cannot be bound.</exception>
    public void Connect(ushort frontendDomain, FbifFrontendInfo frontend)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connected)
                throw new InvalidOperationException("The backend is already connected to a frontend.");
            _connected = true;
        }
        ForeignMapping? shared = null, pixels = null;
        try
        {
            frontend.Validate();
            shared = _frames.MapForeign(frontendDomain, [frontend.PageRef], writable: true);
            // One copy of what the frontend wrote; the page may change under us.
            var header = shared.ReadOnlySpan[..(FbifConstants.PageDirectoryField + FbifConstants.PageDirectoryLength * sizeof(ulong))].ToArray();
            var memLength = (long)MemoryMarshal.Read<uint>(header.AsSpan(FbifConstants.MemLengthField));
            if (memLength == 0 || memLength > Info.VideoRamBytes)
                throw new InvalidDataException($"mem_length {memLength} is not 1 to videoram's {Info.VideoRamBytes} bytes.");
            var geometry = new FramebufferGeometry(
                MemoryMarshal.Read<int>(header.AsSpan(FbifConstants.WidthField)),
                MemoryMarshal.Read<int>(header.AsSpan(FbifConstants.HeightField)),
                (int)Math.Min(MemoryMarshal.Read<uint>(header.AsSpan(FbifConstants.LineLengthField)), int.MaxValue),
                header[FbifConstants.DepthField]);
            geometry.Validate(memLength);
            var pageCount = (int)((memLength + PageBuffer.PageSize - 1) / PageBuffer.PageSize);
            var directoryCount = (pageCount + FbifConstants.FramesPerDirectoryPage - 1) / FbifConstants.FramesPerDirectoryPage;
            var pd = MemoryMarshal.Cast<byte, ulong>(header.AsSpan(FbifConstants.PageDirectoryField))[..directoryCount].ToArray();
            ulong[] frames;
            using (var directory = _frames.MapForeign(frontendDomain, pd, writable: false))
                frames = MemoryMarshal.Cast<byte, ulong>(directory.ReadOnlySpan)[..pageCount].ToArray();
            pixels = _frames.MapForeign(frontendDomain, frames, writable: false);
            var channel = _events.Connect(frontendDomain, frontend.EventChannel);
            lock (_gate)
            {
                _shared = shared;
                _pixels = pixels;
                _memLength = memLength;
                _geometry = geometry;
                _channel = channel;
                _out = new EventRingConsumer(shared, EventRingLayout.FramebufferOut);
                _in = new EventRingProducer(shared, EventRingLayout.FramebufferIn);
            }
            Log.FbbackConnected(_logger, _options.Name, frontendDomain, geometry.ToString(), memLength, pageCount);
        }
        catch (Exception e)
        {
            pixels?.Dispose();
            shared?.Dispose();
            lock (_gate)
                _connected = false;
            Log.FbbackFrontendFault(_logger, _options.Name, frontendDomain, e.Message);
            throw;
        }
        _completion = Task.Run(() => RunAsync(frontendDomain, _stop.Token));
        // Viewers that came before the frontend learn its mode as they would a resize.
        Resized?.Invoke(Geometry);
    }

    /// <summary>Advises the frontend how often to refresh, in milliseconds (<see cref="FbifConstants.NoRefresh"/>: never).</summary>
    /// <returns>False when the in ring is full or nothing is connected.</returns>
    public bool SetRefreshPeriod(uint milliseconds)
    {
        Span<byte> evt = stackalloc byte[FbifConstants.EventSize];
        new FbifRefreshPeriod(milliseconds).Write(evt);
        lock (_gate)
        {
            if (_in is null || _disposed || !_in.TryWrite(evt))
                return false;
            _events.Send(_channel);
            return true;
        }
    }

    /// <inheritdoc />
    public FramebufferRect CopyPixels(FramebufferRect rect, Span<byte> destination)
    {
        lock (_gate)
        {
            if (_pixels is null || _disposed)
                return default;
            var g = _geometry;
            var clipped = rect.Clip(g.Width, g.Height);
            if (clipped.IsEmpty)
                return default;
            if (destination.Length < (long)clipped.Width * clipped.Height * 4)
                throw new ArgumentException("The destination is smaller than the rectangle's pixels.", nameof(destination));
            var memory = _pixels.ReadOnlySpan;
            var bpp = g.BytesPerPixel;
            for (var row = 0; row < clipped.Height; row++)
            {
                // Validated against mem_length at connection and at every resize: always inside the mapping.
                var start = g.Offset + (long)(clipped.Y + row) * g.LineLength + (long)clipped.X * bpp;
                PixelFormatConversion.Row(memory.Slice((int)start, clipped.Width * bpp), g.Depth, clipped.Width,
                    destination.Slice(row * clipped.Width * 4, clipped.Width * 4));
            }
            return clipped;
        }
    }

    private async Task RunAsync(ushort frontendDomain, CancellationToken cancellationToken)
    {
        var seen = EventCounter.Initial;
        var evt = new byte[FbifConstants.EventSize];
        var length = EventRingLayout.FramebufferOut.Length;
        try
        {
            while (true)
            {
                if (await EventWait.NextAsync(_events, _channel, seen, cancellationToken).ConfigureAwait(false) is not { } next)
                    return;
                seen = next;
                bool more;
                do
                {
                    var damage = default(FramebufferRect);
                    FramebufferGeometry? resized = null;
                    var consumed = 0;
                    lock (_gate)
                    {
                        if (_disposed)
                            return;
                        // At most one ring's worth per batch: a frontend that refills as fast as we drain
                        // still lets the damage out and the loop see cancellation.
                        while (consumed < length && _out!.TryRead(evt))
                        {
                            consumed++;
                            switch (evt[0])
                            {
                                case FbifConstants.TypeUpdate:
                                    Interlocked.Increment(ref _updateEvents);
                                    damage = damage.Union(FbifUpdate.Read(evt).Rect.Clip(_geometry.Width, _geometry.Height));
                                    break;
                                case FbifConstants.TypeResize:
                                    var geometry = FbifResize.Read(evt).Geometry;
                                    if (!_options.FeatureResize)
                                        throw new InvalidDataException("The frontend resized, but feature-resize was not offered.");
                                    geometry.Validate(_memLength);
                                    _geometry = geometry;
                                    resized = geometry;
                                    damage = default;
                                    break;
                                default:
                                    // Unknown out events are skipped, as QEMU does.
                                    break;
                            }
                        }
                        more = consumed == length;
                    }
                    if (consumed > 0)
                        _events.Send(_channel);
                    if (resized is { } g)
                    {
                        Log.FbbackResized(_logger, _options.Name, frontendDomain, g.ToString());
                        Resized?.Invoke(g);
                    }
                    if (!damage.IsEmpty)
                    {
                        Interlocked.Increment(ref _damageBatches);
                        Damaged?.Invoke(damage);
                    }
                }
                while (more && !cancellationToken.IsCancellationRequested);
            }
        }
        catch (Exception e) when (e is InvalidDataException or RingProtocolException)
        {
            Log.FbbackFrontendFault(_logger, _options.Name, frontendDomain, e.Message);
            throw;
        }
    }

    /// <summary>Stops serving, unmaps the frontend's pages and closes the channel.</summary>
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
        catch (Exception)
        {
            // A broken frontend's error was for Completion's observers.
        }
        lock (_gate)
        {
            if (_shared is not null)
                _events.Close(_channel);
            _pixels?.Dispose();
            _shared?.Dispose();
            _pixels = _shared = null;
        }
        _stop.Dispose();
    }
}
