using System.Runtime.InteropServices;
using Xen.Evtchn.Xen;
using Xen.Gnt.Xen;

namespace Xen.Guest.Tests.Simulator;

/// <summary>
/// One simulated domain. Its physical memory is a memfd, so a frame number is a page offset into it
/// and a peer's grant can be mapped for real with <c>mmap(MAP_SHARED | MAP_FIXED)</c>. It is also the
/// guest's host: it implements the hypercall interfaces and the memory manager that
/// <see cref="XenEvents"/> and <see cref="XenMemory"/> need, and calls <see cref="Upcall"/> when Xen
/// would raise the event upcall.
/// </summary>
public sealed unsafe partial class SimulatedDomain : IGuestMemory
{
    private const byte FrameFree = 0;
    private const byte FrameGuest = 1;
    private const byte FrameXen = 2;

    private readonly SimulatedHypervisor _hypervisor;
    private readonly SafeFd _fd;
    private readonly byte[] _frameKind;
    private readonly List<(nint Address, int Pages)> _hypervisorViews = [];
    private readonly Dictionary<nint, int> _foreignAreas = [];
    private bool _dead;

    internal SimulatedDomain(SimulatedHypervisor hypervisor, ushort id, int memoryPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryPages, 16);
        _hypervisor = hypervisor;
        Id = id;
        _fd = Interop.Libc.MemfdCreate($"xen-domain-{id}", Interop.Libc.MFD_CLOEXEC);
        if (_fd.IsInvalid)
            throw Interop.Errno.Fail("memfd_create");
        if (Interop.Libc.FTruncate(_fd, (long)memoryPages * 4096) != 0)
            throw Interop.Errno.Fail("ftruncate");
        _frameKind = new byte[memoryPages];

        // Xen's own pages in the domain's physmap: the shared-info page (Xen's view, and the guest's).
        SharedInfoFrame = TakeFrames(1, FrameXen)[0];
        _sharedInfo = (SharedInfo*)HypervisorView(SharedInfoFrame);
        SharedInfoAddress = MapFrames([SharedInfoFrame]);
        _evtchn[0].State = EvtchnState.Reserved;
    }

    /// <summary>The domain id.</summary>
    public ushort Id { get; }

    /// <summary>The frame of the shared-info page.</summary>
    public ulong SharedInfoFrame { get; }

    /// <summary>Where the guest sees its shared-info page: what a host hands <see cref="XenEvents"/>.</summary>
    public nint SharedInfoAddress { get; }

    /// <summary>The guest's upcall handler, called when an event is raised and the vCPU's upcall is unmasked.</summary>
    public Action? Upcall { get; set; }

    /// <summary>How many pages the guest has allocated.</summary>
    public int GuestPages
    {
        get
        {
            lock (_hypervisor.Lock)
                return _frameKind.Count(k => k == FrameGuest);
        }
    }

    /// <inheritdoc />
    public nint AllocatePages(Span<ulong> frames)
    {
        if (frames.IsEmpty)
            throw new ArgumentException("At least one page.", nameof(frames));
        ulong[] taken;
        lock (_hypervisor.Lock)
            taken = TakeFrames(frames.Length, FrameGuest);
        taken.CopyTo(frames);
        var address = MapFrames(taken);
        NativeMemory.Clear((void*)address, (nuint)frames.Length * 4096);
        return address;
    }

    /// <inheritdoc />
    public void FreePages(nint address, ReadOnlySpan<ulong> frames)
    {
        PhysicalPages.Unmap(address, frames.Length);
        lock (_hypervisor.Lock)
        {
            foreach (var frame in frames)
            {
                if (frame >= (ulong)_frameKind.Length || _frameKind[frame] != FrameGuest)
                    throw new ArgumentException($"Frame {frame} is not a guest page of domain {Id}.", nameof(frames));
                _frameKind[frame] = FrameFree;
            }
        }
    }

    /// <inheritdoc />
    public nint MapFrames(ReadOnlySpan<ulong> frames)
    {
        lock (_hypervisor.Lock)
        {
            foreach (var frame in frames)
            {
                if (frame >= (ulong)_frameKind.Length || _frameKind[frame] == FrameFree)
                    throw new ArgumentException($"Frame {frame} is not populated in domain {Id}.", nameof(frames));
            }
        }
        var address = PhysicalPages.Reserve(frames.Length);
        for (var i = 0; i < frames.Length; i++)
            PhysicalPages.MapPageAt(address + i * 4096, _fd, frames[i], writable: true);
        return address;
    }

    /// <inheritdoc />
    public void UnmapFrames(nint address, int pageCount) => PhysicalPages.Unmap(address, pageCount);

    /// <inheritdoc />
    public nint ReserveForeignArea(int pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageCount, 1);
        var address = PhysicalPages.Reserve(pageCount);
        lock (_hypervisor.Lock)
            _foreignAreas.Add(address, pageCount);
        return address;
    }

    /// <inheritdoc />
    public void ReleaseForeignArea(nint address, int pageCount)
    {
        lock (_hypervisor.Lock)
        {
            if (!_foreignAreas.TryGetValue(address, out var pages) || pages != pageCount)
                throw new ArgumentException("No such foreign area.", nameof(address));
            for (var i = 0; i < pageCount; i++)
            {
                if (_hostMapped.ContainsKey(address + i * 4096))
                    throw new InvalidOperationException("A grant is still mapped in the area.");
            }
            _foreignAreas.Remove(address);
        }
        PhysicalPages.Unmap(address, pageCount);
    }

    /// <summary>Masks or unmasks the vCPU's upcall, as a guest does around critical sections; unmasking
    /// with an upcall pending delivers it, as a guest's re-enable path checks.</summary>
    public void SetUpcallMask(bool masked)
    {
        ref var vcpu = ref _sharedInfo->VcpuInfo[0];
        Volatile.Write(ref vcpu.EvtchnUpcallMask, masked ? (byte)1 : (byte)0);
        Interlocked.MemoryBarrier();
        if (!masked && Volatile.Read(ref vcpu.EvtchnUpcallPending) != 0)
            Upcall?.Invoke();
    }

    private ulong[] TakeFrames(int count, byte kind)
    {
        var frames = new ulong[count];
        var found = 0;
        for (var f = 0; f < _frameKind.Length && found < count; f++)
        {
            if (_frameKind[f] == FrameFree)
                frames[found++] = (ulong)f;
        }
        if (found < count)
            throw new OutOfMemoryException($"Domain {Id} has no {count} free pages.");
        foreach (var f in frames)
            _frameKind[f] = kind;
        return frames;
    }

    /// <summary>Xen's own mapping of one of the domain's frames.</summary>
    private nint HypervisorView(ulong frame)
    {
        var address = PhysicalPages.Reserve(1);
        PhysicalPages.MapPageAt(address, _fd, frame, writable: true);
        _hypervisorViews.Add((address, 1));
        return address;
    }

    private bool CheckAlive(out int rc)
    {
        rc = _dead ? -EventChannelAbi.ESRCH : 0;
        return !_dead;
    }

    internal void ReleaseViews()
    {
        foreach (var (address, pages) in _hypervisorViews)
            PhysicalPages.Unmap(address, pages);
        _hypervisorViews.Clear();
    }

    internal void Destroy()
    {
        if (_dead)
            return;
        _dead = true;
        for (uint port = 1; port < _evtchn.Length; port++)
        {
            if (_evtchn[port].State is EvtchnState.Unbound or EvtchnState.Interdomain)
                ClosePort(port);
        }
        foreach (var (handle, track) in _maptrack.ToArray())
            ReleaseMapping(handle, track);
        // The memfd closes; pages that peers or the guest still map stay alive through their mappings.
        _fd.Dispose();
    }
}
