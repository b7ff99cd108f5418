using System.Collections.Concurrent;

namespace Xen.Evtchn.InHeap;

/// <summary>One domain's table of bound ports on a hub.</summary>
internal sealed class EventDomain : IDisposable
{
    private readonly InHeapEventHub _hub;
    // Read without a lock on the hot paths; changed only under the hub's gate.
    private readonly ConcurrentDictionary<uint, EventEndpoint> _channels = new();
    // Ports count up from 1 and are never handed out twice, so a stale port can never name a new channel.
    private uint _nextPort = 1;
    private volatile bool _disposed;

    public EventDomain(InHeapEventHub hub, ushort id)
    {
        _hub = hub;
        Id = id;
    }

    public ushort Id { get; }

    public bool IsDisposed => _disposed;

    public int ChannelCount => _channels.Count;

    public int WaiterCount => _channels.Values.Sum(e => e.WaiterCount);

    public (Port Port, Channel Channel) Listen(ushort remoteDomain)
    {
        lock (_hub.Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var endpoint = Bind(remoteDomain);
            return (endpoint.Channel.LocalPort, endpoint.Channel);
        }
    }

    public Channel Connect(ushort remoteDomain, Port remotePort)
    {
        lock (_hub.Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var remote = _hub.FindLocked(remoteDomain)
                ?? throw new PortNotBoundException(remoteDomain, remotePort, $"domain {remoteDomain} is not there");
            if (!remote._channels.TryGetValue(remotePort.Value, out var target))
                throw new PortNotBoundException(remoteDomain, remotePort, "no such port");
            if (target.RemoteDomain != Id)
                throw new PortNotBoundException(remoteDomain, remotePort, $"it is offered to domain {target.RemoteDomain}");
            if (!target.IsUnconnected)
                throw new PortNotBoundException(remoteDomain, remotePort, "it is already connected");
            var local = Bind(remoteDomain);
            local.ConnectTo(target);
            target.ConnectTo(local);
            return local.Channel;
        }
    }

    public EventEndpoint Find(Channel channel)
    {
        if (!_channels.TryGetValue(channel.LocalPort.Value, out var endpoint))
            ThrowHelper.ThrowChannelClosed(channel);
        return endpoint;
    }

    public bool TryFind(Channel channel, out EventEndpoint endpoint) =>
        _channels.TryGetValue(channel.LocalPort.Value, out endpoint!);

    public void Close(Channel channel)
    {
        lock (_hub.Gate)
        {
            if (_channels.TryRemove(channel.LocalPort.Value, out var endpoint))
                endpoint.Close();
        }
    }

    public void Dispose()
    {
        lock (_hub.Gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _hub.RemoveLocked(this);
            foreach (var port in _channels.Keys)
            {
                if (_channels.TryRemove(port, out var endpoint))
                    endpoint.Close();
            }
        }
    }

    public override string ToString() => $"in-heap event domain {Id}";

    private EventEndpoint Bind(ushort remoteDomain)
    {
        var endpoint = new EventEndpoint(new Channel(new Port(_nextPort++)), remoteDomain);
        _channels.TryAdd(endpoint.Channel.LocalPort.Value, endpoint);
        return endpoint;
    }
}
