using Xen.Evtchn;
using Xen.Evtchn.InHeap;

namespace Vchan.Tests;

/// <summary>
/// In-heap events that can hold one <see cref="Send"/> until the channel is closed: a notification
/// from a read or write that races its own end's close.
/// </summary>
internal sealed class HeldSendEvents(InHeapEvents inner) : IEvents
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;

    /// <summary>Completes when the held send has begun.</summary>
    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ushort LocalDomain => inner.LocalDomain;

    /// <summary>The next send waits until <see cref="Close"/>, then goes on to the closed channel.</summary>
    public void HoldNextSend() => Volatile.Write(ref _armed, 1);

    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);

    public Channel Connect(ushort remoteDomain, Port remotePort) => inner.Connect(remoteDomain, remotePort);

    public void Send(Channel channel)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            Held.SetResult();
            _closed.Task.Wait();
        }
        inner.Send(channel);
    }

    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
        inner.RecvAsync(channel, lastSeen, cancellationToken);

    public void Close(Channel channel)
    {
        inner.Close(channel);
        _closed.TrySetResult();
    }

    public void Dispose() => inner.Dispose();
}
