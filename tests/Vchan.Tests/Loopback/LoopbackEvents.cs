using System.Collections.Concurrent;
using Xen.Evtchn;

namespace Vchan.Tests.Loopback;

/// <summary>A small in-process event switch shared by several <see cref="LoopbackEvents"/>, one per domain.</summary>
internal sealed class LoopbackSwitch
{
    private readonly ConcurrentDictionary<(ushort Domain, uint Port), End> _ends = new();
    private int _nextPort = 1;

    internal sealed class End(ushort domain, uint port, ushort remoteDomain)
    {
        public readonly ushort Domain = domain, RemoteDomain = remoteDomain;
        public readonly uint Port = port;
        public End? Peer;
        public bool Closed, PeerClosed;
        public ulong Count;
        public readonly List<(ulong Last, TaskCompletionSource<EventCounter> Tcs)> Waiters = [];
    }

    public End Create(ushort domain, ushort remote)
    {
        var end = new End(domain, (uint)Interlocked.Increment(ref _nextPort), remote);
        _ends[(domain, end.Port)] = end;
        return end;
    }

    public End Get(ushort domain, uint port) =>
        _ends.TryGetValue((domain, port), out var end) ? end : throw new ChannelClosedException(new Channel(new Port(port)));

    public static void Fire(End end)
    {
        List<TaskCompletionSource<EventCounter>> wake = [];
        lock (end)
        {
            end.Count++;
            foreach (var w in end.Waiters)
                wake.Add(w.Tcs);
            end.Waiters.Clear();
        }
        foreach (var t in wake)
            t.TrySetResult(new EventCounter(end.Count));
    }

    public static void Fail(End end, Func<Exception> error)
    {
        List<TaskCompletionSource<EventCounter>> wake;
        lock (end)
        {
            wake = end.Waiters.Select(w => w.Tcs).ToList();
            end.Waiters.Clear();
        }
        foreach (var t in wake)
            t.TrySetException(error());
    }
}

/// <summary>Events of one domain on a <see cref="LoopbackSwitch"/>.</summary>
internal sealed class LoopbackEvents(LoopbackSwitch network, ushort domain) : IEvents
{
    public ushort LocalDomain => domain;

    public (Port Port, Channel Channel) Listen(ushort remoteDomain)
    {
        var end = network.Create(domain, remoteDomain);
        return (new Port(end.Port), new Channel(new Port(end.Port)));
    }

    public Channel Connect(ushort remoteDomain, Port remotePort)
    {
        var remote = network.Get(remoteDomain, remotePort.Value);
        lock (remote)
        {
            if (remote.RemoteDomain != domain || remote.Peer is not null)
                throw new PortNotBoundException(remoteDomain, remotePort, "not offered");
            var end = network.Create(domain, remoteDomain);
            end.Peer = remote;
            remote.Peer = end;
            return new Channel(new Port(end.Port));
        }
    }

    public void Send(Channel channel)
    {
        var end = network.Get(domain, channel.LocalPort.Value);
        if (end.Closed)
            throw new ChannelClosedException(channel);
        if (end.PeerClosed)
            throw new PeerClosedException(channel);
        if (end.Peer is { } peer)
            LoopbackSwitch.Fire(peer);
    }

    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default)
    {
        var end = network.Get(domain, channel.LocalPort.Value);
        TaskCompletionSource<EventCounter> tcs;
        lock (end)
        {
            if (end.Closed)
                throw new ChannelClosedException(channel);
            if (end.Count > lastSeen.Value)
                return new(new EventCounter(end.Count));
            if (end.PeerClosed)
                throw new PeerClosedException(channel);
            tcs = new TaskCompletionSource<EventCounter>(TaskCreationOptions.RunContinuationsAsynchronously);
            end.Waiters.Add((lastSeen.Value, tcs));
        }
        return new(tcs.Task.WaitAsync(cancellationToken));
    }

    public void Close(Channel channel)
    {
        var end = network.Get(domain, channel.LocalPort.Value);
        lock (end)
        {
            if (end.Closed)
                return;
            end.Closed = true;
        }
        LoopbackSwitch.Fail(end, () => new ChannelClosedException(channel));
        if (end.Peer is { } peer)
        {
            lock (peer)
                peer.PeerClosed = true;
            LoopbackSwitch.Fail(peer, () => new PeerClosedException(new Channel(new Port(peer.Port))));
        }
    }

    /// <summary>Fires the unmap notification's event on a local port, as a kernel would.</summary>
    public void NotifyFromKernel(uint port)
    {
        var end = network.Get(domain, port);
        if (!end.Closed && end.Peer is { } peer)
            LoopbackSwitch.Fire(peer);
    }

    public void Dispose()
    {
    }
}
