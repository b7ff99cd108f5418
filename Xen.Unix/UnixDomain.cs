using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;

namespace Xen.Unix;

/// <summary>
/// One domain played by this process over the Unix backends, with both halves opened and wired
/// together: its memory sends unmap notifications through its events.
/// </summary>
/// <remarks>
/// Processes meet in the root folder (<see cref="UnixDomainOptions.Root"/>); two live processes may
/// not claim one id. Xenstore is a daemon's socket (<c>mirage xenstored</c>), whose connections the
/// domain claims as its own.
/// </remarks>
public sealed class UnixDomain : IDisposable
{
    private readonly string? _xenstore;

    private UnixDomain(UnixEvents events, UnixMemory memory, UnixFrames frames, string? xenstore)
    {
        Events = events;
        Memory = memory;
        Frames = frames;
        _xenstore = xenstore;
    }

    /// <summary>The domain id.</summary>
    public ushort Id => Events.LocalDomain;

    /// <summary>The domain's event channels.</summary>
    public UnixEvents Events { get; }

    /// <summary>The domain's grant table, whose <see cref="Xen.Gnt.UnmapNotify.EventPort"/>s are sent on <see cref="Events"/>.</summary>
    public UnixMemory Memory { get; }

    /// <summary>This domain's memory by frame number, and other domains' frames when this is domain 0.</summary>
    public UnixFrames Frames { get; }

    /// <summary>Opens the domain, claiming its id in the root folder.</summary>
    /// <exception cref="InvalidOperationException">Another live process already is this domain, or no id was given.</exception>
    /// <exception cref="IOException">The root folder cannot be used.</exception>
    public static UnixDomain Open(UnixDomainOptions? options = null)
    {
        options ??= new UnixDomainOptions();
        var events = new UnixEvents(new UnixEventsOptions
        {
            Domain = options.Domain,
            Root = options.Root,
            SpinBeforeBlock = options.SpinBeforeBlock,
            InlineCompletions = options.InlineCompletions,
        });
        try
        {
            var memory = new UnixMemory(new UnixMemoryOptions { Domain = events.LocalDomain, Root = options.Root }, events.SendOnPort());
            try
            {
                return new UnixDomain(events, memory, new UnixFrames(memory), options.Xenstore);
            }
            catch
            {
                memory.Dispose();
                throw;
            }
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects to the Xenstore daemon where the options said (<see cref="XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>)
    /// and claims the connection for this domain (a socket connection starts as dom0). The caller
    /// disposes the client, before the domain.
    /// </summary>
    /// <exception cref="IOException">No daemon answers; the message says where it looked.</exception>
    public Task<XenstoreClient> OpenXenstoreAsync(CancellationToken cancellationToken = default) =>
        XenstoreClient.OpenAsync(_xenstore, Id, cancellationToken);

    /// <summary>Ends the domain as a crash would: memory first, so that its unmap notifications
    /// still go out, then its event channels.</summary>
    public void Dispose()
    {
        Frames.Dispose();
        Memory.Dispose();
        Events.Dispose();
    }
}
