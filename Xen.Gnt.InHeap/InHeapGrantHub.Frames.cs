
namespace Xen.Gnt.InHeap;

public sealed partial class InHeapGrantHub
{
    // Each domain's memory by frame number, a memfd per domain; the lock is the hub's.
    private readonly Dictionary<ushort, FrameFile> _frameFiles = [];

    /// <summary>
    /// Opens <paramref name="domain"/>'s memory by frame number on this hub (<see cref="IForeignFrames"/>).
    /// Domain 0 is the privileged one: only it maps other domains' frames.
    /// </summary>
    /// <remarks>Opening a domain's frames again (the domain was killed and started afresh) ends its old
    /// memory, as a new Xen domain gets new memory; views already made of it stay valid.</remarks>
    public InHeapFrames OpenFrames(ushort domain)
    {
        lock (_gate)
        {
            if (_frameFiles.Remove(domain, out var old))
                old.Dispose();
            var fd = Interop.Libc.MemfdCreate($"xen-inheap-frames-dom{domain}", Interop.Libc.MFD_CLOEXEC);
            if (fd.IsInvalid)
            {
                var error = Interop.Errno.Message("memfd_create");
                fd.Dispose();
                throw new FrameException($"Opening domain {domain}'s memory failed ({error}).");
            }
            var file = new FrameFile(fd, domain);
            _frameFiles.Add(domain, file);
            return new InHeapFrames(this, file);
        }
    }

    internal ForeignMapping MapForeign(ushort mapper, ushort remoteDomain, ReadOnlySpan<ulong> frames, bool writable)
    {
        if (mapper != 0)
            throw new FrameException($"Domain {mapper} is not privileged: only domain 0 maps another domain's frames.");
        lock (_gate)
        {
            // Mapped under the lock, so that the domain's memory cannot be closed halfway.
            if (!_frameFiles.TryGetValue(remoteDomain, out var file))
                throw new FrameException($"Domain {remoteDomain} has no memory open on this hub.");
            return new FileForeignMapping(file.Map(frames, writable), remoteDomain, frames.ToArray(), writable);
        }
    }

    internal void CloseFrames(FrameFile file)
    {
        lock (_gate)
        {
            if (_frameFiles.TryGetValue(file.Domain, out var open) && open == file)
                _frameFiles.Remove(file.Domain);
            file.Dispose();
        }
    }
}
