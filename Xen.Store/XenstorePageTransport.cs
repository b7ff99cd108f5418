using System.IO.Pipelines;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Xen.Store;

/// <summary>
/// A duplex byte pipe over a Xenstore shared page and an event channel: the guest writes requests
/// into <c>req</c> and reads <c>rsp</c>; the daemon does the opposite. Two loops move bytes between
/// the rings and the pipes, notifying the peer after every move (the rings have no event index) and
/// sleeping on the event counter when there is nothing to do, so no wake-up is lost.
/// </summary>
internal sealed class XenstorePageTransport<TEvents> : IDuplexPipe
    where TEvents : IEvents
{
    // XENSTORE_SERVER_FEATURE_ERROR: the daemon reports broken rings in the page's error field.
    private const uint FeatureError = 2;
    private const uint ErrorRingIndex = 2;

    private readonly TEvents _events;
    private readonly Channel _channel;
    private readonly PageBuffer _page;
    private readonly bool _daemon;
    private readonly Pipe _inbound = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _outbound = new(new PipeOptions(useSynchronizationContext: false));
    private readonly CancellationTokenSource _stop = new();

    /// <param name="events">The event backend.</param>
    /// <param name="channel">The bound channel to the peer.</param>
    /// <param name="page">The Xenstore page (a share or a mapping), writable, alive until <see cref="Completion"/>.</param>
    /// <param name="daemon">True on the daemon's side (reads requests, writes responses).</param>
    public XenstorePageTransport(TEvents events, Channel channel, PageBuffer page, bool daemon)
    {
        if (!page.Writable || page.Length < XenstoreRingLayout.Size)
            throw new ArgumentException("The Xenstore page must be a writable page.", nameof(page));
        _events = events;
        _channel = channel;
        _page = page;
        _daemon = daemon;
        if (daemon)
        {
            var shared = Page;
            shared.ServerFeatures = FeatureError;
        }
        var receive = ReceiveAsync();
        var send = SendAsync();
        Completion = Task.WhenAll(receive, send);
    }

    public PipeReader Input => _inbound.Reader;

    public PipeWriter Output => _outbound.Writer;

    /// <summary>Completes when both loops have ended: the page and channel are no longer used.</summary>
    public Task Completion { get; }

    private unsafe XenstorePage Page => new(_page.Pointer);

    private ByteRing From => _daemon ? Page.Requests : Page.Responses;

    private ByteRing To => _daemon ? Page.Responses : Page.Requests;

    /// <summary>The daemon tells the guest why it stopped: <c>XENSTORE_ERROR_RINGIDX</c>.</summary>
    private void ReportBrokenRing()
    {
        if (!_daemon)
            return;
        var shared = Page;
        shared.Error = ErrorRingIndex;
    }

    /// <summary>Ring to pipe.</summary>
    private async Task ReceiveAsync()
    {
        await Task.Yield();
        Exception? error = null;
        var seen = EventCounter.Initial;
        try
        {
            while (true)
            {
                var n = From.Read(_inbound.Writer.GetSpan(1024));
                if (n > 0)
                {
                    _inbound.Writer.Advance(n);
                    _events.Send(_channel);
                    if ((await _inbound.Writer.FlushAsync(_stop.Token).ConfigureAwait(false)).IsCompleted)
                        break;
                    continue;
                }
                seen = await _events.RecvAsync(_channel, seen, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (RingProtocolException e)
        {
            ReportBrokenRing();
            error = e;
        }
        catch (EventChannelException e)
        {
            error = e;
        }
        finally
        {
            await _inbound.Writer.CompleteAsync(error).ConfigureAwait(false);
            await _stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Pipe to ring.</summary>
    private async Task SendAsync()
    {
        await Task.Yield();
        var reader = _outbound.Reader;
        var seen = EventCounter.Initial;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (!buffer.IsEmpty)
                    {
                        var n = To.Write(buffer.First.Span);
                        if (n > 0)
                        {
                            buffer = buffer.Slice(n);
                            _events.Send(_channel);
                            continue;
                        }
                        // The ring is full: wait for the peer to take some.
                        seen = await _events.RecvAsync(_channel, seen, _stop.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RingProtocolException or EventChannelException)
        {
            if (e is RingProtocolException)
                ReportBrokenRing();
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await _stop.CancelAsync().ConfigureAwait(false);
        }
    }
}
