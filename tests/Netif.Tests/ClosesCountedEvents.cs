using System.Collections.Concurrent;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;

namespace Netif.Tests;

/// <summary>
/// In-heap events that count each port's closes. In-heap events never bind a freed port again, so a
/// second close does nothing there; the Unix, xenctrl and Xen backends bind the lowest free port, and
/// there a second close shuts whichever channel took the port in between.
/// </summary>
internal sealed class ClosesCountedEvents(InHeapEvents inner) : IEvents
{
    private readonly ConcurrentDictionary<uint, int> _closes = new();

    /// <summary>How many times each port connected through here was closed.</summary>
    public IReadOnlyDictionary<uint, int> Closes => new Dictionary<uint, int>(_closes);

    public ushort LocalDomain => inner.LocalDomain;

    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);

    public Channel Connect(ushort remoteDomain, Port remotePort)
    {
        var channel = inner.Connect(remoteDomain, remotePort);
        _closes[channel.LocalPort.Value] = 0;
        return channel;
    }

    public void Send(Channel channel) => inner.Send(channel);

    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
        inner.RecvAsync(channel, lastSeen, cancellationToken);

    public void Close(Channel channel)
    {
        _closes.AddOrUpdate(channel.LocalPort.Value, 1, (_, n) => n + 1);
        inner.Close(channel);
    }

    public void Dispose() => inner.Dispose();
}
