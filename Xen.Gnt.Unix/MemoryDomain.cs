using System.Globalization;
using System.Net.Sockets;
using Xen.Unix;

namespace Xen.Gnt.Unix;

/// <summary>
/// The state behind <see cref="UnixMemory"/>: this process's hold on its domain folder, the shares and
/// mappings it made, and its <c>gnt-&lt;pid&gt;</c> socket, on which mappers of its pages register the
/// byte to clear if they die (the connection's end without an UNMAP is the death).
/// </summary>
internal sealed class MemoryDomain : IDisposable
{
    /// <summary>The prefix of a granting process's socket in the domain folder, followed by its pid.</summary>
    public const string SocketPrefix = "gnt-";

    private const int PageSize = PageBuffer.PageSize;

    private readonly DomainFolder _folder;
    private readonly Action<uint>? _sendEvent;
    private readonly uint _maxGrants;
    private readonly Socket _server;
    private readonly string _socketPath;
    private readonly object _gate = new();
    private readonly Dictionary<uint, UnixShare> _shares = [];
    private readonly HashSet<UnixMapping> _mappings = [];
    private readonly HashSet<Socket> _mappers = [];
    private readonly CancellationTokenSource _stopping = new();
    private uint _nextRef = GrantRef.FirstUnreserved;
    private bool _disposed;

    public MemoryDomain(UnixMemoryOptions options, Action<uint>? sendEvent)
    {
        var root = XenRoot.Resolve(options.Root);
        var domain = XenRoot.ResolveDomain(options.Domain);
        if (options.MaxGrants <= GrantRef.FirstUnreserved)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxGrants, "MaxGrants must leave room past the reserved refs 0..7.");
        _maxGrants = options.MaxGrants;
        _sendEvent = sendEvent;
        _folder = DomainFolder.Claim(root, domain);
        try
        {
            _socketPath = Path.Combine(_folder.Path, SocketPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            if (System.Text.Encoding.UTF8.GetByteCount(_socketPath) > 107)
                throw new IOException($"The socket path {_socketPath} is longer than a Unix socket allows (107 bytes): choose a shorter XEN_ROOT.");
            Interop.Libc.Unlink(_socketPath); // a dead process with our pid left it
            _server = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            _server.Bind(new UnixDomainSocketEndPoint(_socketPath));
            _server.Listen(128);
        }
        catch
        {
            _server?.Dispose();
            _folder.Dispose();
            throw;
        }
        _ = AcceptMappersAsync();
    }

    public ushort Domain => _folder.Domain;

    public string Root => _folder.Root;

    private string GrantPath(ushort domain, uint grant) =>
        Path.Combine(XenRoot.DomainPath(_folder.Root, domain), DomainFolder.GrantsName, grant.ToString(CultureInfo.InvariantCulture));

    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify)
    {
        if (pageCount <= 0 || pageCount > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(pageCount), pageCount, "Share at least one page and less than 2 GiB.");
        if (remoteDomain >= XenRoot.FirstReservedDomain)
            throw new GrantException(GrantStatus.BadDomain, $"Domain {remoteDomain} is a reserved id; no process can map from it");
        notify.Validate(pageCount * PageSize);
        lock (_gate)
            ObjectDisposedException.ThrowIf(_disposed, this);
        var address = Reserve(pageCount);
        var pages = new List<GrantedPage>(pageCount);
        try
        {
            for (var i = 0; i < pageCount; i++)
            {
                var notifyOffset = notify.ClearByteAt is { } at && at / PageSize == i ? at % PageSize : -1;
                var metadata = new GrantMetadata(Domain, remoteDomain, !writable, (uint)Environment.ProcessId, notifyOffset);
                pages.Add(CreatePage(metadata, address + (i * PageSize)));
            }
        }
        catch
        {
            foreach (var page in pages)
            {
                Interop.Libc.Unlink(page.MetadataPath);
                page.Release();
            }
            Interop.Libc.MUnmap(address, (nuint)pageCount * PageSize);
            throw;
        }
        var share = new UnixShare(this, address, remoteDomain, [.. pages], writable, notify);
        lock (_gate)
        {
            foreach (var page in pages)
                _shares[page.Ref.Value] = share;
        }
        return share;
    }

    /// <summary>Reserves a contiguous range of address space that pages are then mapped into.</summary>
    private static nint Reserve(int pageCount)
    {
        var address = Interop.Libc.MMapAnonymous(0, (nuint)pageCount * PageSize, Interop.Libc.PROT_NONE, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_NORESERVE);
        if (address == Interop.Libc.MAP_FAILED)
            throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("mmap") + $": no address space for {pageCount} pages");
        return address;
    }

    /// <summary>
    /// Makes one granted page: an unnamed zeroed 4096-byte file, locked shared and mapped, then given the
    /// first free ref's name with <c>link</c> (which fails if the name exists, so refs are unique across
    /// processes), then its metadata, written the same way so that it appears whole.
    /// </summary>
    private unsafe GrantedPage CreatePage(GrantMetadata metadata, nint slot)
    {
        var grants = _folder.GrantsPath;
        var fd = Interop.Libc.Open(grants, Interop.Libc.O_RDWR | Interop.Libc.O_TMPFILE, Convert.ToInt32("600", 8));
        if (fd.IsInvalid)
            throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("open(O_TMPFILE)", grants));
        try
        {
            if (Interop.Libc.FTruncate(fd, PageSize) != 0)
                throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("ftruncate"));
            Interop.Libc.Flock(fd, Interop.Libc.LOCK_SH);
            if (Interop.Libc.MMap(slot, PageSize, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, fd, 0) == Interop.Libc.MAP_FAILED)
                throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("mmap"));
            var self = "/proc/self/fd/" + fd.DangerousGetHandle().ToString(CultureInfo.InvariantCulture);
            var grant = LinkFreeRef(self);
            var path = Path.Combine(grants, grant.ToString(CultureInfo.InvariantCulture));
            var page = new GrantedPage(new GrantRef(grant), path, fd, metadata);
            try
            {
                WriteMetadata(page);
            }
            catch
            {
                page.Release();
                throw;
            }
            return page;
        }
        catch
        {
            if (!fd.IsClosed)
                fd.Dispose();
            throw;
        }
    }

    private uint LinkFreeRef(string self)
    {
        lock (_gate)
        {
            var grant = _nextRef;
            for (uint tried = 0; tried < _maxGrants - GrantRef.FirstUnreserved; tried++)
            {
                var path = Path.Combine(_folder.GrantsPath, grant.ToString(CultureInfo.InvariantCulture));
                if (Interop.Libc.Linkat(self, path, Interop.Libc.AT_SYMLINK_FOLLOW) == 0)
                {
                    _nextRef = grant + 1 < _maxGrants ? grant + 1 : GrantRef.FirstUnreserved;
                    return grant;
                }
                if (Interop.Errno.Last != Interop.Errno.EEXIST)
                    throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("link", path));
                grant = grant + 1 < _maxGrants ? grant + 1 : GrantRef.FirstUnreserved;
            }
            throw new GrantException(GrantStatus.NoSpace, $"All {_maxGrants - GrantRef.FirstUnreserved} grant refs of domain {Domain} are in use");
        }
    }

    private unsafe void WriteMetadata(GrantedPage page)
    {
        using var fd = Interop.Libc.Open(_folder.GrantsPath, Interop.Libc.O_RDWR | Interop.Libc.O_TMPFILE, Convert.ToInt32("600", 8));
        if (fd.IsInvalid)
            throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("open(O_TMPFILE)", _folder.GrantsPath));
        var bytes = stackalloc byte[GrantMetadata.Size];
        page.Metadata.Write(new Span<byte>(bytes, GrantMetadata.Size));
        if (Interop.Libc.PWrite(fd, bytes, GrantMetadata.Size, 0) != GrantMetadata.Size)
            throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("write", page.MetadataPath));
        var self = "/proc/self/fd/" + fd.DangerousGetHandle().ToString(CultureInfo.InvariantCulture);
        for (var attempt = 0; ; attempt++)
        {
            if (Interop.Libc.Linkat(self, page.MetadataPath, Interop.Libc.AT_SYMLINK_FOLLOW) == 0)
                return;
            // A sidecar left by a dead process whose page is gone: the ref is ours now.
            if (Interop.Errno.Last != Interop.Errno.EEXIST || attempt > 0)
                throw new GrantException(GrantStatus.NoSpace, Interop.Errno.Message("link", page.MetadataPath));
            Interop.Libc.Unlink(page.MetadataPath);
        }
    }

    public unsafe void EndShare(UnixShare share)
    {
        lock (_gate)
        {
            foreach (var grant in share.Refs)
                _shares.Remove(grant.Value);
        }
        // Ending the grant first: no new mapping can start once the metadata is gone.
        foreach (var page in share.Pages)
            Interop.Libc.Unlink(page.MetadataPath);
        Fire(share.Notify, share.Base, share.Length, writable: true, files: null);
        Interop.Libc.MUnmap((nint)share.Base, (nuint)share.Length);
        foreach (var page in share.Pages)
            page.Release();
    }

    public Mapping Map(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify)
    {
        if (grants.IsEmpty)
            throw new ArgumentException("Map at least one grant ref.", nameof(grants));
        if (grants.Length > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(grants), grants.Length, "Map less than 2 GiB at once.");
        notify.Validate(grants.Length * PageSize);
        lock (_gate)
            ObjectDisposedException.ThrowIf(_disposed, this);
        if (remoteDomain >= XenRoot.FirstReservedDomain || !Directory.Exists(XenRoot.DomainPath(_folder.Root, remoteDomain)))
            throw new GrantException(GrantStatus.BadDomain, $"Domain {remoteDomain} does not exist under {_folder.Root}");
        foreach (var grant in grants)
        {
            if (grant.IsReserved)
                throw new GrantException(GrantStatus.BadGntref, $"Grant ref {grant} is reserved (refs 0..7 are never granted this way)");
        }

        var address = Reserve(grants.Length);
        var pages = new List<GrantedPage>(grants.Length);
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < grants.Length; i++)
                pages.Add(OpenPage(remoteDomain, grants[i], writable, address + (i * PageSize)));
            foreach (var pid in pages.Select(p => p.Metadata.GranterPid).Distinct())
                sockets.Add(Register(remoteDomain, pid, pages, notify));
        }
        catch
        {
            foreach (var socket in sockets)
                socket.Dispose();
            Interop.Libc.MUnmap(address, (nuint)grants.Length * PageSize);
            foreach (var page in pages)
                page.Release();
            throw;
        }
        var mapping = new UnixMapping(this, address, remoteDomain, [.. pages], writable, notify, [.. sockets]);
        lock (_gate)
            _mappings.Add(mapping);
        foreach (var socket in mapping.Granters)
            _ = WatchGranterAsync(mapping, socket);
        return mapping;
    }

    /// <summary>Opens, checks and maps one granted page into its slot.</summary>
    private GrantedPage OpenPage(ushort remoteDomain, GrantRef grant, bool writable, nint slot)
    {
        var path = GrantPath(remoteDomain, grant.Value);
        var fd = Interop.Libc.Open(path, writable ? Interop.Libc.O_RDWR : Interop.Libc.O_RDONLY);
        if (fd.IsInvalid)
            throw new GrantException(GrantStatus.BadGntref, $"Domain {remoteDomain} has not granted ref {grant} ({Interop.Errno.Message("open", path)})");
        try
        {
            Interop.Libc.Flock(fd, Interop.Libc.LOCK_SH);
            // Held now: the page cannot be removed under us. It must still be the grant at that name.
            if (!DomainFolder.IsCurrent(fd, path))
                throw new GrantException(GrantStatus.BadGntref, $"Domain {remoteDomain} no longer grants ref {grant}");
            var metadata = ReadMetadata(path + GrantFiles.MetadataSuffix, remoteDomain, grant);
            if (metadata.RemoteDomain != Domain)
                throw new GrantException(GrantStatus.PermissionDenied, $"Domain {remoteDomain} granted ref {grant} to domain {metadata.RemoteDomain}, not to this domain ({Domain})");
            if (writable && metadata.ReadOnly)
                throw new GrantException(GrantStatus.PermissionDenied, $"Domain {remoteDomain} granted ref {grant} read-only; map it with writable: false");
            if (Interop.Libc.FStatx(fd).stx_size != PageSize)
                throw new GrantException(GrantStatus.BadPage, $"The page file of ref {grant} of domain {remoteDomain} is not {PageSize} bytes");
            var protection = writable ? Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE : Interop.Libc.PROT_READ;
            if (Interop.Libc.MMap(slot, PageSize, protection, Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, fd, 0) == Interop.Libc.MAP_FAILED)
                throw new GrantException(GrantStatus.NoDeviceSpace, Interop.Errno.Message("mmap", path));
            return new GrantedPage(grant, path, fd, metadata);
        }
        catch
        {
            GrantFiles.Release(fd, path);
            fd.Dispose();
            throw;
        }
    }

    private static unsafe GrantMetadata ReadMetadata(string path, ushort remoteDomain, GrantRef grant)
    {
        using var fd = Interop.Libc.Open(path, Interop.Libc.O_RDONLY);
        if (fd.IsInvalid)
            throw new GrantException(GrantStatus.BadGntref, $"Domain {remoteDomain} no longer grants ref {grant}");
        var bytes = stackalloc byte[GrantMetadata.Size];
        var n = Interop.Libc.PRead(fd, bytes, GrantMetadata.Size, 0);
        if (n != GrantMetadata.Size || !GrantMetadata.TryRead(new ReadOnlySpan<byte>(bytes, GrantMetadata.Size), out var metadata))
            throw new GrantException(GrantStatus.GeneralError, $"The metadata of ref {grant} of domain {remoteDomain} ({path}) is damaged");
        if (metadata.GrantingDomain != remoteDomain)
            throw new GrantException(GrantStatus.GeneralError, $"The metadata of ref {grant} names domain {metadata.GrantingDomain}, not {remoteDomain}");
        return metadata;
    }

    /// <summary>
    /// Connects to the granting process and sends MAP with the byte to clear in its pages if this
    /// process dies. A granting process that is gone means the grant is gone.
    /// </summary>
    private unsafe Socket Register(ushort remoteDomain, uint pid, List<GrantedPage> pages, UnmapNotify notify)
    {
        var path = Path.Combine(XenRoot.DomainPath(_folder.Root, remoteDomain), SocketPrefix + pid.ToString(CultureInfo.InvariantCulture));
        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified)
        {
            SendTimeout = (int)XenRoot.SocketTimeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new GrantException(GrantStatus.BadGntref, $"The process {pid} of domain {remoteDomain} that granted these refs is gone ({e.SocketErrorCode})");
        }
        var notifyRef = MapperMessage.NoRef;
        var offset = -1;
        if (notify.ClearByteAt is { } at && pages[at / PageSize].Metadata.GranterPid == pid)
        {
            notifyRef = pages[at / PageSize].Ref.Value;
            offset = at % PageSize;
        }
        Span<byte> message = stackalloc byte[MapperMessage.Size];
        new MapperMessage(MapperMessage.Map, Domain, notifyRef, offset).Write(message);
        socket.Send(message);
        return socket;
    }

    /// <summary>Waits for the granting process's connection to end; if the grants are still there, it died
    /// without ending them, and its share notification (the byte to clear) is this process's to fire.</summary>
    private async Task WatchGranterAsync(UnixMapping mapping, Socket socket)
    {
        var buffer = new byte[MapperMessage.Size];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        if (!mapping.Ending)
            FireForDeadGranter(mapping);
    }

    private static unsafe void FireForDeadGranter(UnixMapping mapping)
    {
        lock (mapping)
        {
            if (mapping.IsReleased || mapping.Ending)
                return;
            for (var i = 0; i < mapping.Pages.Length; i++)
            {
                var page = mapping.Pages[i];
                if (page.Metadata.NotifyOffset >= 0 && File.Exists(page.MetadataPath))
                    ClearByte(mapping.Base + (i * PageSize) + page.Metadata.NotifyOffset, mapping.Writable, page);
            }
        }
    }

    public unsafe void EndMapping(UnixMapping mapping)
    {
        lock (mapping)
            mapping.Ending = true;
        lock (_gate)
            _mappings.Remove(mapping);
        Fire(mapping.Notify, mapping.Base, mapping.Length, mapping.Writable, mapping.Pages);
        Span<byte> message = stackalloc byte[MapperMessage.Size];
        new MapperMessage(MapperMessage.Unmap, Domain, MapperMessage.NoRef, -1).Write(message);
        foreach (var socket in mapping.Granters)
        {
            socket.Send(message, SocketFlags.None, out _);
            socket.Dispose();
        }
        Interop.Libc.MUnmap((nint)mapping.Base, (nuint)mapping.Length);
        foreach (var page in mapping.Pages)
            page.Release();
    }

    /// <summary>Fires a notification: clear the byte, then send the event.</summary>
    private unsafe void Fire(UnmapNotify notify, byte* pages, int length, bool writable, GrantedPage[]? files)
    {
        if (notify.ClearByteAt is { } at && at < length)
            ClearByte(pages + at, writable, files?[at / PageSize]);
        if (notify.EventPort is { } port && _sendEvent is { } send)
        {
            try
            {
                send(port);
            }
            catch (IOException)
            {
                // The peer is gone already: nobody is left to tell.
            }
        }
    }

    /// <summary>Clears one byte; through the file when this process's view of it is read-only.</summary>
    private static unsafe void ClearByte(byte* at, bool writable, GrantedPage? file)
    {
        if (writable)
        {
            Volatile.Write(ref *at, 0);
            return;
        }
        if (file is null)
            return;
        using var fd = Interop.Libc.Open(file.Path, Interop.Libc.O_RDWR);
        if (fd.IsInvalid || !DomainFolder.IsCurrent(fd, file.Path) || Interop.Libc.FStatx(fd).stx_ino != Interop.Libc.FStatx(file.Fd).stx_ino)
            return;
        byte zero = 0;
        var offset = (long)((nuint)at & (PageSize - 1));
        Interop.Libc.PWrite(fd, &zero, 1, offset);
    }

    private async Task AcceptMappersAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket mapper;
            try
            {
                mapper = await _server.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            lock (_gate)
            {
                if (_disposed)
                {
                    mapper.Dispose();
                    return;
                }
                _mappers.Add(mapper);
            }
            _ = ServeMapperAsync(mapper);
        }
    }

    /// <summary>Follows one mapper: MAP says which byte to clear if it dies; UNMAP, that it ended cleanly.</summary>
    private async Task ServeMapperAsync(Socket mapper)
    {
        var buffer = new byte[64];
        uint notifyRef = MapperMessage.NoRef;
        var offset = -1;
        ushort mapperDomain = 0;
        var clean = false;
        try
        {
            while (true)
            {
                var n = await mapper.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                if (n == 0)
                    break;
                if (!MapperMessage.TryRead(buffer.AsSpan(0, n), out var message))
                    continue; // not ours to act on
                if (message.Type == MapperMessage.Map && message.NotifyOffset is >= 0 and < PageSize)
                    (notifyRef, offset, mapperDomain) = (message.NotifyRef, message.NotifyOffset, message.MapperDomain);
                else if (message.Type == MapperMessage.Unmap)
                    clean = true;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (_stopping.IsCancellationRequested)
                clean = true;
        }
        MapperGone(mapper, mapperDomain, clean ? MapperMessage.NoRef : notifyRef, offset);
    }

    /// <summary>A mapper's connection ended; if it died, its notification is ours to fire, on the page we
    /// still share. The event half is the mapper's event channel closing, which its peer sees.</summary>
    /// <remarks>
    /// Under Xen the byte is cleared through the mapper's own writable mapping of the page. So only a
    /// share granted writable to the domain the mapper named is touched: anyone can connect to the
    /// socket, and a connection that names another domain's share, or a read-only one, clears nothing.
    /// </remarks>
    private unsafe void MapperGone(Socket mapper, ushort mapperDomain, uint notifyRef, int offset)
    {
        lock (_gate)
        {
            _mappers.Remove(mapper);
            if (notifyRef != MapperMessage.NoRef && _shares.TryGetValue(notifyRef, out var share) && !share.IsReleased
                && share.RemoteDomain == mapperDomain && share.PeerWritable)
            {
                for (var index = 0; index < share.Pages.Length; index++)
                {
                    if (share.Pages[index].Ref.Value == notifyRef)
                        Volatile.Write(ref *(share.Base + (index * PageSize) + offset), 0);
                }
            }
        }
        mapper.Dispose();
    }

    public void Dispose()
    {
        UnixShare[] shares;
        UnixMapping[] mappings;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            shares = [.. _shares.Values.Distinct()];
            mappings = [.. _mappings];
        }
        foreach (IDisposable mapping in mappings)
            mapping.Dispose();
        foreach (IDisposable share in shares)
            share.Dispose();
        _stopping.Cancel();
        _server.Dispose();
        Interop.Libc.Unlink(_socketPath);
        lock (_gate)
        {
            foreach (var mapper in _mappers)
                mapper.Dispose();
            _mappers.Clear();
        }
        _folder.Dispose();
        _stopping.Dispose();
    }
}
