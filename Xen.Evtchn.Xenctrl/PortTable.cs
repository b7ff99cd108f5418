using System.Collections.Concurrent;

namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// The ports bound through one device handle, and the dispatch of fired ports to them. Kept apart from
/// the device so that the dispatch can be tested without Xen.
/// </summary>
internal sealed class PortTable
{
    private readonly ConcurrentDictionary<uint, PortState> _ports = new();

    /// <summary>
    /// Held while a port is bound and registered, and while fired ports are dispatched: an interdomain
    /// port fires as soon as it is bound, before the binder has registered it.
    /// </summary>
    internal Lock BindLock { get; } = new();

    /// <summary>How many ports are bound.</summary>
    internal int Count => _ports.Count;

    /// <summary>Registers a newly bound port.</summary>
    /// <exception cref="InvalidOperationException">The port is registered already: the kernel handed it out twice.</exception>
    internal PortState Add(Port port)
    {
        var state = new PortState(new Channel(port));
        if (!_ports.TryAdd(port.Value, state))
            throw new InvalidOperationException($"Port {port} is already bound through this device.");
        return state;
    }

    /// <summary>The state of a bound port, or null if it is not bound here (never was, or was closed).</summary>
    internal PortState? Find(Port port) => _ports.TryGetValue(port.Value, out var state) ? state : null;

    /// <summary>Unregisters a port and fails its receivers with <see cref="ChannelClosedException"/>.</summary>
    /// <returns>The port's state, or null if it was not bound here.</returns>
    internal PortState? Remove(Port port)
    {
        if (!_ports.TryRemove(port.Value, out var state))
            return null;
        state.Close(new ChannelClosedException(state.Channel));
        return state;
    }

    /// <summary>Counts one event on each fired port; ports not bound here (closed meanwhile) are ignored.</summary>
    internal void Dispatch(ReadOnlySpan<uint> fired)
    {
        foreach (var port in fired)
        {
            if (_ports.TryGetValue(port, out var state))
                state.Fire();
        }
    }

    /// <summary>
    /// Counts one event on every port: after the kernel's ring overflowed, which ports fired is lost, and a
    /// spurious wake-up is harmless (receivers look at the shared memory again) where a lost one hangs.
    /// </summary>
    internal void DispatchAll()
    {
        foreach (var state in _ports.Values)
            state.Fire();
    }

    /// <summary>The bound ports now.</summary>
    internal uint[] Snapshot() => [.. _ports.Keys];

    /// <summary>Unregisters every port, failing each one's receivers with the error <paramref name="errorFor"/> makes.</summary>
    internal void CloseAll(Func<Channel, Exception> errorFor)
    {
        foreach (var key in _ports.Keys)
        {
            if (_ports.TryRemove(key, out var state))
                state.Close(errorFor(state.Channel));
        }
    }
}
