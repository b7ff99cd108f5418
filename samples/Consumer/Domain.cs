namespace Consumer;

/// <summary>One domain: the selected backend's events and memory, opened for one domain id.</summary>
internal sealed class Domain : IDisposable
{
    private Domain(XenEvents events, XenMemory memory, ushort peer)
    {
        Events = events;
        Memory = memory;
        Peer = peer;
    }

    public XenEvents Events { get; }

    public XenMemory Memory { get; }

    public ushort Id => Events.LocalDomain;

    /// <summary>The domain this one talks to.</summary>
    public ushort Peer { get; }

    public static Domain Open(ushort id, ushort peer)
    {
        var events = XenBackend.OpenEvents(id);
        try
        {
            return new Domain(events, XenBackend.OpenMemory(events), peer);
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>Memory first, so that its unmap notifications can still be sent.</summary>
    public void Dispose()
    {
        Memory.Dispose();
        Events.Dispose();
    }
}
