using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Xen.Unix;

namespace Xen.Evtchn.Unix;

/// <summary>
/// The state behind <see cref="UnixEvents"/>: this process's claim on its domain id, the listening
/// socket other domains connect to, the table of local ports, the process's <see cref="Doorbell"/>
/// (whose thread wakes receivers), and one event thread that waits on every socket of the process with
/// <c>epoll</c> for connections and for peers that go (no thread per channel).
/// </summary>
internal sealed unsafe class EventsDomain : IDisposable
{
    /// <summary>The listening socket's name inside the domain folder.</summary>
    public const string SocketName = "evtchn";

    /// <summary>The file whose exclusive <c>flock</c> is this process's claim on the domain id.</summary>
    public const string ClaimName = "evtchn.lock";

    /// <summary>The prefix of a channel's counter page file, followed by the listener's port.</summary>
    public const string PagePrefix = "evtchn-";

    private const ulong TagWake = 0;
    private const ulong TagListener = 1;
    private const ulong TagHandshake = 2;
    private const ulong TagChannel = 3;


    private readonly DomainFolder _folder;
    private readonly SafeFd _claim;
    private readonly Socket _listener;
    private readonly string _socketPath;
    private readonly SafeFd _epoll;
    private readonly SafeFd _wake;
    private readonly Thread _thread;
    private readonly Doorbell _doorbell;
    private readonly object _gate = new();
    private readonly Dictionary<uint, Socket> _handshakes = [];
    private readonly long _spinTicks;

    public long SpinTicks => _spinTicks;
    private readonly bool _runContinuationsAsynchronously;
    private ChannelState?[] _channels = new ChannelState?[64];
    private uint _nextHandshake;
    private volatile bool _disposed;

    public EventsDomain(UnixEventsOptions options)
    {
        var root = XenRoot.Resolve(options.Root);
        var domain = XenRoot.ResolveDomain(options.Domain);
        _spinTicks = (long)(options.SpinBeforeBlock.TotalSeconds * Stopwatch.Frequency);
        _runContinuationsAsynchronously = !options.InlineCompletions;
        _folder = DomainFolder.Claim(root, domain);
        try
        {
            _claim = ClaimDomain(_folder);
            _socketPath = Path.Combine(_folder.Path, SocketName);
            CheckSocketPath(_socketPath);
            Interop.Libc.Unlink(_socketPath); // left by a dead process that held the claim before us
            _listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(_socketPath));
            _listener.Listen(128);
            _listener.Blocking = false;
            _epoll = Interop.Libc.EpollCreate1(Interop.Libc.EPOLL_CLOEXEC);
            if (_epoll.IsInvalid)
                throw Interop.Errno.Fail("epoll_create1");
            _wake = Interop.Libc.EventFd(0, Interop.Libc.EFD_CLOEXEC | Interop.Libc.EFD_NONBLOCK);
            if (_wake.IsInvalid)
                throw Interop.Errno.Fail("eventfd");
            Register(_wake, TagWake << 32);
            Register(_listener.SafeHandle, TagListener << 32);
            _doorbell = new Doorbell(_folder.Path, domain, WakeWaiting);
        }
        catch
        {
            _epoll?.Dispose();
            _wake?.Dispose();
            _listener?.Dispose();
            _claim?.Dispose();
            _folder.Dispose();
            throw;
        }
        _thread = new Thread(Run) { IsBackground = true, Name = $"evtchn domain {domain}" };
        _thread.Start();
    }

    public ushort Domain => _folder.Domain;

    public string Root => _folder.Root;

    private static SafeFd ClaimDomain(DomainFolder folder)
    {
        var path = Path.Combine(folder.Path, ClaimName);
        for (var attempt = 0; ; attempt++)
        {
            var fd = Interop.Libc.Open(path, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT, Convert.ToInt32("600", 8));
            if (fd.IsInvalid)
                throw Interop.Errno.Fail("open", path);
            if (!Interop.Libc.Flock(fd, Interop.Libc.LOCK_EX | Interop.Libc.LOCK_NB))
            {
                var holder = ReadPid(fd);
                fd.Dispose();
                throw new InvalidOperationException(
                    $"Domain {folder.Domain} is already taken by another live process{(holder is null ? "" : $" (pid {holder})")} under {folder.Root}: give this process another id (XEN_DOMID).");
            }
            // The previous owner unlinks the file before letting go: a lock on an unlinked (or since replaced)
            // file claims nothing, and taking it anyway would let two processes own the domain.
            if (!DomainFolder.IsCurrent(fd, path))
            {
                fd.Dispose();
                if (attempt >= 100)
                    throw new IOException($"Could not claim domain {folder.Domain} under {folder.Root}: {path} keeps being replaced.");
                continue;
            }
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            Interop.Libc.FTruncate(fd, 0);
            fixed (byte* p = pid)
                Interop.Libc.PWrite(fd, p, (nuint)pid.Length, 0);
            return fd;
        }
    }

    private static string? ReadPid(SafeFd fd)
    {
        var buffer = stackalloc byte[16];
        var n = Interop.Libc.PRead(fd, buffer, 16, 0);
        return n > 0 ? System.Text.Encoding.ASCII.GetString(buffer, (int)n).Trim() : null;
    }

    private static void CheckSocketPath(string path)
    {
        // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
            throw new IOException($"The socket path {path} is longer than a Unix socket allows (107 bytes): choose a shorter XEN_ROOT.");
    }

    private void Register(SafeHandle fd, ulong tag)
    {
        if (Interop.Libc.EpollCtl(_epoll, Interop.Libc.EPOLL_CTL_ADD, fd, Interop.Libc.EPOLLIN | Interop.Libc.EPOLLRDHUP, tag) != 0)
            throw Interop.Errno.Fail("epoll_ctl");
    }

    private void Unregister(SafeHandle fd) => Interop.Libc.EpollCtl(_epoll, Interop.Libc.EPOLL_CTL_DEL, fd, 0, 0);

    public ChannelState? Find(uint port)
    {
        var table = Volatile.Read(ref _channels);
        return port < (uint)table.Length ? Volatile.Read(ref table[port]) : null;
    }

    /// <summary>Binds the lowest free port (port 0 is never used, as in Xen) to a new channel.</summary>
    private ChannelState Bind(ushort remoteDomain, bool isListener)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var table = _channels;
            uint port = 1;
            while (port < table.Length && table[port] is not null)
                port++;
            if (port >= table.Length)
            {
                var grown = new ChannelState?[table.Length * 2];
                Array.Copy(table, grown, table.Length);
                Volatile.Write(ref _channels, grown);
                table = grown;
            }
            var state = new ChannelState(port, remoteDomain, isListener, _runContinuationsAsynchronously);
            Volatile.Write(ref table[port], state);
            return state;
        }
    }

    private void Unbind(ChannelState state)
    {
        lock (_gate)
        {
            if (state.Port < _channels.Length && _channels[state.Port] == state)
                Volatile.Write(ref _channels[state.Port], null);
        }
    }

    public (Port, Channel) Listen(ushort remoteDomain)
    {
        var state = Bind(remoteDomain, isListener: true);
        return (new Port(state.Port), new Channel(new Port(state.Port)));
    }

    public Channel Connect(ushort remoteDomain, Port remotePort)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var remoteFolder = XenRoot.DomainPath(Root, remoteDomain);
        var path = Path.Combine(remoteFolder, SocketName);
        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified)
        {
            SendTimeout = (int)XenRoot.SocketTimeout.TotalMilliseconds,
            ReceiveTimeout = (int)XenRoot.SocketTimeout.TotalMilliseconds,
        };
        ChannelState? state = null;
        try
        {
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException e)
            {
                throw new PortNotBoundException(remoteDomain, remotePort, $"domain {remoteDomain} is not running or not accepting (at {path}: {e.SocketErrorCode})");
            }
            state = Bind(remoteDomain, isListener: false);
            Span<byte> message = stackalloc byte[Handshake.Size];
            Handshake.WriteRequest(message, Domain, remotePort.Value, state.Port);
            socket.Send(message);
            Span<byte> reply = stackalloc byte[64];
            int n;
            try
            {
                n = socket.Receive(reply);
            }
            catch (SocketException e)
            {
                throw new PortNotBoundException(remoteDomain, remotePort, $"domain {remoteDomain} did not answer the connection ({e.SocketErrorCode})");
            }
            if (n == 0)
                throw new PortNotBoundException(remoteDomain, remotePort, $"domain {remoteDomain} closed the connection before answering");
            if (!Handshake.TryReadReply(reply[..n], out var status))
                throw new PortNotBoundException(remoteDomain, remotePort, "the listener's reply is not a handshake");
            if (status != Handshake.Okay)
                throw new PortNotBoundException(remoteDomain, remotePort, Handshake.Reason(status));
            byte* page = null, doorbell = null;
            var pagePath = Path.Combine(remoteFolder, PagePrefix + remotePort.Value.ToString(CultureInfo.InvariantCulture));
            try
            {
                page = PageFile.Open(pagePath);
                doorbell = PageFile.Open(Path.Combine(remoteFolder, Doorbell.FileName));
            }
            catch (IOException e)
            {
                if (page != null)
                    PageFile.Unmap(page);
                throw new PortNotBoundException(remoteDomain, remotePort, "the channel's pages cannot be used: " + e.Message);
            }
            finally
            {
                Interop.Libc.Unlink(pagePath); // nothing stays on disk
            }
            socket.Blocking = false;
            var link = new ChannelLink(socket, page, doorbell);
            if (!state.Attach(link))
            {
                link.Dispose();
                throw new ChannelClosedException(new Channel(new Port(state.Port)));
            }
            Register(link.Socket.SafeHandle, (TagChannel << 32) | state.Port);
            return new Channel(new Port(state.Port));
        }
        catch
        {
            if (state is not null && state.Link is null)
            {
                socket.Dispose();
                state.Close();
                Unbind(state);
            }
            throw;
        }
    }

    public void Close(Channel channel)
    {
        var state = Find(channel.LocalPort.Value);
        if (state is null)
            return;
        var link = state.Close();
        if (link is not null)
        {
            Unregister(link.Socket.SafeHandle);
            try
            {
                // Tells the peer at once, even while a send on another thread still holds the link.
                link.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // The peer is gone already.
            }
            link.Dispose();
        }
        if (state.IsListener)
            Interop.Libc.Unlink(Path.Combine(_folder.Path, PagePrefix + state.Port.ToString(CultureInfo.InvariantCulture)));
        Unbind(state);
    }

    private void Run()
    {
        const int MaxEvents = 64;
        var events = stackalloc byte[MaxEvents * 16];
        while (!_disposed)
        {
            var count = Interop.Libc.EpollWait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Interop.Errno.Last == Interop.Errno.EINTR)
                    continue;
                return;
            }
            for (var i = 0; i < count && !_disposed; i++)
            {
                var entry = events + (i * Interop.Libc.EpollEventSize);
                var flags = *(uint*)entry;
                var tag = *(ulong*)(entry + Interop.Libc.EpollDataOffset);
                try
                {
                    switch (tag >> 32)
                    {
                        case TagListener:
                            Accept();
                            break;
                        case TagHandshake:
                            Answer((uint)tag);
                            break;
                        case TagChannel:
                            Drain((uint)tag, flags);
                            break;
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    // One bad peer must not stop the thread that serves every channel.
                }
            }
        }
    }

    private void Accept()
    {
        Socket accepted;
        try
        {
            accepted = _listener.Accept();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
        {
            return;
        }
        accepted.Blocking = false;
        uint id;
        lock (_gate)
        {
            id = _nextHandshake++;
            _handshakes[id] = accepted;
        }
        Register(accepted.SafeHandle, (TagHandshake << 32) | id);
    }

    /// <summary>Reads a connector's request and answers it: the port must be offered to its domain.</summary>
    private void Answer(uint id)
    {
        Socket socket;
        lock (_gate)
        {
            if (!_handshakes.Remove(id, out socket!))
                return;
        }
        Unregister(socket.SafeHandle);
        Span<byte> message = stackalloc byte[64];
        var n = socket.Receive(message, SocketFlags.None, out var error);
        if (error != SocketError.Success || n <= 0 || !Handshake.TryReadRequest(message[..n], out var from, out var port, out _))
        {
            Refuse(socket, Handshake.BadRequest, 0);
            return;
        }
        var state = Find(port);
        if (state is null || !state.IsListener || state.Phase == ChannelState.Closed)
        {
            Refuse(socket, Handshake.NoSuchPort, port);
            return;
        }
        if (state.RemoteDomain != from)
        {
            Refuse(socket, Handshake.OtherDomain, port);
            return;
        }
        if (state.Phase != ChannelState.Offered)
        {
            Refuse(socket, Handshake.AlreadyConnected, port);
            return;
        }
        // The counter page is created before the reply, and the connector's doorbell mapped: an okay
        // means the channel can be used at once.
        var pagePath = Path.Combine(_folder.Path, PagePrefix + port.ToString(CultureInfo.InvariantCulture));
        byte* page = null, doorbell;
        try
        {
            page = PageFile.Create(pagePath);
            doorbell = PageFile.Open(Path.Combine(XenRoot.DomainPath(Root, from), Doorbell.FileName));
        }
        catch (IOException)
        {
            if (page != null)
            {
                PageFile.Unmap(page);
                Interop.Libc.Unlink(pagePath);
            }
            Refuse(socket, Handshake.BadRequest, port);
            return;
        }
        var link = new ChannelLink(socket, page, doorbell);
        if (!state.Attach(link))
        {
            link.Dispose();
            return;
        }
        Register(link.Socket.SafeHandle, (TagChannel << 32) | port);
        Span<byte> reply = stackalloc byte[Handshake.Size];
        Handshake.WriteReply(reply, Handshake.Okay, port);
        socket.Send(reply, SocketFlags.None, out _);
    }

    private static void Refuse(Socket socket, short status, uint port)
    {
        Span<byte> reply = stackalloc byte[Handshake.Size];
        Handshake.WriteReply(reply, status, port);
        socket.Send(reply, SocketFlags.None, out _);
        socket.Dispose();
    }

    /// <summary>
    /// A channel's socket is readable. After the handshake it carries nothing but its end, so this reads
    /// what a peer sent anyway (one message per report: level-triggered <c>epoll</c> reports any left) and
    /// ends the waits if the peer has gone.
    /// </summary>
    private void Drain(uint port, uint flags)
    {
        var state = Find(port);
        var link = state?.Link;
        if (state is null || link is null)
            return;
        string? gone = null;
        try
        {
            var buffer = stackalloc byte[64];
            nint n;
            do
                n = Interop.Libc.Recv(link.Socket.SafeHandle, buffer, 64, Interop.Libc.MSG_DONTWAIT);
            while (n < 0 && Interop.Errno.Last == Interop.Errno.EINTR);
            if (n == 0 || (flags & (Interop.Libc.EPOLLHUP | Interop.Libc.EPOLLERR | Interop.Libc.EPOLLRDHUP)) != 0)
                gone = "its socket was closed";
            else if (n < 0 && Interop.Errno.Last != Interop.Errno.EAGAIN)
                gone = Interop.Errno.Message("recv");
            if (gone is null)
                return;
            Unregister(link.Socket.SafeHandle);
        }
        catch (ObjectDisposedException)
        {
            return; // closed on another thread meanwhile
        }
        state.Wake(peerGone: true, gone);
    }

    /// <summary>The doorbell rang: every channel with receivers looks at its counter.</summary>
    private void WakeWaiting()
    {
        foreach (var state in Volatile.Read(ref _channels))
        {
            if (state is not null && state.WaiterCount > 0)
                state.Wake(peerGone: false, null);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        foreach (var state in Volatile.Read(ref _channels))
        {
            if (state is not null)
                Close(new Channel(new Port(state.Port)));
        }
        ulong one = 1;
        Interop.Libc.Write(_wake, (byte*)&one, 8);
        if (Thread.CurrentThread != _thread)
            _thread.Join();
        _doorbell.Dispose();
        lock (_gate)
        {
            foreach (var socket in _handshakes.Values)
                socket.Dispose();
            _handshakes.Clear();
        }
        _epoll.Dispose();
        _wake.Dispose();
        _listener.Dispose();
        Interop.Libc.Unlink(_socketPath);
        Interop.Libc.Unlink(Path.Combine(_folder.Path, ClaimName));
        _claim.Dispose();
        _folder.Dispose();
    }
}
