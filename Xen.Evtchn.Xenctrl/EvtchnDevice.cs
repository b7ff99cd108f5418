using Xen.Xenctrl.Native;
using static Interop.Evtchn;

namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// One open <c>/dev/xen/evtchn</c> and its reader thread. The thread waits in <c>poll</c> for fired
/// ports, counts them in the <see cref="PortTable"/>, and writes them back to the device, which
/// unmasks them (the kernel keeps a fired port masked until then).
/// </summary>
internal sealed unsafe class EvtchnDevice : IDisposable
{
    // The kernel's ring holds at most one entry per bound port; a read takes up to this many at once.
    private const int ReadBatch = 256;

    private readonly SafeFd _fd;
    private readonly SafeFd _wake;
    private readonly Thread _reader;
    private int _disposed;
    private EventChannelException? _failure;

    private EvtchnDevice(SafeFd fd, SafeFd wake, string path, ushort localDomain)
    {
        _fd = fd;
        _wake = wake;
        Path = path;
        LocalDomain = localDomain;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"evtchn reader {path}" };
        _reader.Start();
    }

    internal ushort LocalDomain { get; }

    internal string Path { get; }

    internal PortTable Ports { get; } = new();

    /// <summary>Opens the device and starts its reader thread.</summary>
    /// <exception cref="EventChannelException">The device cannot be opened; the message says why and what to do.</exception>
    internal static EvtchnDevice Open(string path, ushort localDomain)
    {
        var fd = DeviceFile.TryOpen(path, Interop.Libc.O_NONBLOCK, out var error) ?? throw new EventChannelException(error!);
        var wake = Interop.Libc.EventFd(0, Interop.Libc.EFD_CLOEXEC | Interop.Libc.EFD_NONBLOCK);
        if (wake.IsInvalid)
        {
            var errno = Interop.Errno.Last;
            fd.Dispose();
            wake.Dispose();
            throw new EventChannelException($"eventfd failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        return new EvtchnDevice(fd, wake, path, localDomain);
    }

    /// <summary><c>IOCTL_EVTCHN_BIND_UNBOUND_PORT</c>: a new port that only <paramref name="remoteDomain"/> may bind to.</summary>
    internal Channel BindUnboundPort(ushort remoteDomain)
    {
        var arg = new ioctl_evtchn_bind_unbound_port { remote_domain = remoteDomain };
        lock (Ports.BindLock)
        {
            ThrowIfUnusable();
            var port = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &arg);
            if (port < 0)
            {
                var errno = Interop.Errno.Last;
                throw new EventChannelException(
                    $"Xen refused a new port for domain {remoteDomain}: {Interop.Errno.Describe(errno)} (errno {errno}).");
            }
            return Ports.Add(new Port((uint)port)).Channel;
        }
    }

    /// <summary><c>IOCTL_EVTCHN_BIND_INTERDOMAIN</c>: connects to the port <paramref name="remoteDomain"/> offered.</summary>
    internal Channel BindInterdomain(ushort remoteDomain, Port remotePort)
    {
        var arg = new ioctl_evtchn_bind_interdomain { remote_domain = remoteDomain, remote_port = remotePort.Value };
        lock (Ports.BindLock)
        {
            ThrowIfUnusable();
            var port = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &arg);
            if (port < 0)
                throw BindInterdomainFailed(remoteDomain, remotePort, Interop.Errno.Last);
            return Ports.Add(new Port((uint)port)).Channel;
        }
    }

    /// <summary><c>IOCTL_EVTCHN_BIND_VIRQ</c>: a port on which Xen raises the virtual interrupt <paramref name="virq"/>.</summary>
    internal Channel BindVirq(uint virq)
    {
        var arg = virq;
        lock (Ports.BindLock)
        {
            ThrowIfUnusable();
            var port = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_BIND_VIRQ, &arg);
            if (port < 0)
            {
                var errno = Interop.Errno.Last;
                // Xen binds a global VIRQ once in the whole host: EEXIST means another process holds it.
                throw new EventChannelException(errno == Interop.Errno.EEXIST
                    ? $"VIRQ {virq} is bound already (another xenstored running?): {Interop.Errno.Describe(errno)} (errno {errno})."
                    : $"Xen refused to bind VIRQ {virq}: {Interop.Errno.Describe(errno)} (errno {errno}).");
            }
            return Ports.Add(new Port((uint)port)).Channel;
        }
    }

    /// <summary>The error for a failed <c>IOCTL_EVTCHN_BIND_INTERDOMAIN</c> with <paramref name="errno"/>.</summary>
    internal static EventChannelException BindInterdomainFailed(ushort remoteDomain, Port remotePort, int errno) => errno switch
    {
        // Xen: the port is not unbound, names another domain, or does not exist.
        Interop.Errno.EINVAL => new PortNotBoundException(remoteDomain, remotePort,
            "Xen says EINVAL: the port does not exist, is already connected, or was offered to another domain"),
        Interop.Errno.ESRCH => new PeerClosedException(new Channel(remotePort), $"domain {remoteDomain} does not exist (ESRCH)"),
        _ => new EventChannelException(
            $"Cannot bind to port {remotePort} of domain {remoteDomain}: {Interop.Errno.Describe(errno)} (errno {errno})."),
    };

    /// <summary><c>IOCTL_EVTCHN_NOTIFY</c>: sends an event to the channel's peer.</summary>
    internal void Notify(Channel channel)
    {
        var arg = new ioctl_evtchn_notify { port = channel.LocalPort.Value };
        int result;
        try
        {
            result = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_NOTIFY, &arg);
        }
        catch (ObjectDisposedException)
        {
            // The backend was disposed, which closed every channel.
            throw new ChannelClosedException(channel);
        }
        if (result < 0)
            ThrowNotifyFailed(channel, Interop.Errno.Last);
    }

    /// <summary>
    /// The error for a failed notify. Linux refuses only ports this handle has not bound (ENOTCONN,
    /// EINVAL): the channel is closed here. A peer that closed its end is not reported by Xen at all.
    /// </summary>
    internal static void ThrowNotifyFailed(Channel channel, int errno) => throw (errno switch
    {
        Interop.Errno.ENOTCONN or Interop.Errno.EINVAL or Interop.Errno.EBADF => new ChannelClosedException(channel),
        _ => new PeerClosedException(channel, $"notify failed: {Interop.Errno.Describe(errno)} (errno {errno})"),
    });

    /// <summary>Unbinds the port (Xen closes it), then fails its receivers with <see cref="ChannelClosedException"/>.</summary>
    internal void Unbind(Channel channel)
    {
        if (Ports.Find(channel.LocalPort) is null || Volatile.Read(ref _disposed) != 0)
            return;
        lock (Ports.BindLock)
        {
            if (Ports.Find(channel.LocalPort) is null)
                return;
            var arg = new ioctl_evtchn_unbind { port = channel.LocalPort.Value };
            // ENOTCONN would mean the kernel unbound it already; either way it is gone.
            _ = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_UNBIND, &arg);
            Ports.Remove(channel.LocalPort);
        }
    }

    internal ValueTask<EventCounter> WaitAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken)
    {
        var state = Ports.Find(channel.LocalPort);
        return state is null
            ? ValueTask.FromException<EventCounter>(new ChannelClosedException(channel))
            : state.WaitAsync(lastSeen, cancellationToken);
    }

    private void ReadLoop()
    {
        var fired = stackalloc uint[ReadBatch];
        var fds = stackalloc Interop.Libc.pollfd[2];
        fds[0] = new Interop.Libc.pollfd { fd = _fd.Fd, events = Interop.Libc.POLLIN };
        fds[1] = new Interop.Libc.pollfd { fd = _wake.Fd, events = Interop.Libc.POLLIN };
        try
        {
            while (true)
            {
                fds[0].revents = fds[1].revents = 0;
                if (Interop.Libc.Poll(fds, 2, -1) < 0)
                {
                    var errno = Interop.Errno.Last;
                    if (errno == Interop.Errno.EINTR)
                        continue;
                    throw new EventChannelException($"poll on {Path} failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
                }
                if (fds[1].revents != 0)
                    return;
                if ((fds[0].revents & (Interop.Libc.POLLERR | Interop.Libc.POLLNVAL)) != 0)
                    throw new EventChannelException($"{Path} reported an error (poll revents 0x{fds[0].revents:x}).");
                if ((fds[0].revents & Interop.Libc.POLLIN) != 0)
                    ReadFired(fired);
            }
        }
        catch (EventChannelException e)
        {
            // The device is unusable: receivers fail with the reason instead of waiting forever, and so
            // do later binds.
            lock (Ports.BindLock)
            {
                _failure = e;
                Ports.CloseAll(_ => e);
            }
        }
    }

    private void ReadFired(uint* fired)
    {
        var bytes = Interop.Libc.Read(_fd, fired, ReadBatch * sizeof(uint));
        if (bytes < 0)
        {
            var errno = Interop.Errno.Last;
            if (errno is Interop.Errno.EAGAIN or Interop.Errno.EINTR)
                return;
            if (errno == Interop.Errno.EFBIG)
            {
                RecoverFromOverflow();
                return;
            }
            throw new EventChannelException($"read from {Path} failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        if (bytes == 0)
            throw new EventChannelException($"{Path} said end of file: it is not an event-channel device.");
        var count = (int)bytes / sizeof(uint);
        lock (Ports.BindLock)
            Ports.Dispatch(new ReadOnlySpan<uint>(fired, count));
        Unmask(fired, count);
    }

    /// <summary>
    /// The kernel's ring overflowed (read says EFBIG): <c>IOCTL_EVTCHN_RESET</c> clears it, every port counts
    /// an event, and every port is unmasked, since which ones fired is lost.
    /// </summary>
    private void RecoverFromOverflow()
    {
        if (Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_RESET, null) < 0)
        {
            var errno = Interop.Errno.Last;
            throw new EventChannelException($"IOCTL_EVTCHN_RESET on {Path} failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        uint[] ports;
        lock (Ports.BindLock)
        {
            ports = Ports.Snapshot();
            Ports.DispatchAll();
        }
        fixed (uint* p = ports)
            Unmask(p, ports.Length);
    }

    private void Unmask(uint* ports, int count)
    {
        // Ports unbound meanwhile are ignored by the kernel.
        if (count > 0 && Interop.Libc.Write(_fd, ports, (nuint)(count * sizeof(uint))) < 0)
        {
            var errno = Interop.Errno.Last;
            throw new EventChannelException($"write to {Path} (unmask) failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _failure) is { } failure)
            throw new EventChannelException($"The reader of {Path} has stopped: {failure.Message}", failure);
    }

    /// <summary>Unbinds every port (receivers get <see cref="ChannelClosedException"/>), stops the reader and closes the device.</summary>
    public void Dispose()
    {
        lock (Ports.BindLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            foreach (var port in Ports.Snapshot())
            {
                var arg = new ioctl_evtchn_unbind { port = port };
                _ = Interop.Libc.Ioctl(_fd, IOCTL_EVTCHN_UNBIND, &arg);
            }
            Ports.CloseAll(channel => new ChannelClosedException(channel));
        }
        ulong one = 1;
        _ = Interop.Libc.Write(_wake, &one, sizeof(ulong));
        if (Thread.CurrentThread != _reader)
            _reader.Join();
        _fd.Dispose();
        _wake.Dispose();
    }
}
