using Xen.Unix;

namespace Xen.Gnt.Unix;

/// <summary>
/// A process's domain memory by frame number (<see cref="IForeignFrames"/>) between processes: the
/// file <c>&lt;root&gt;/&lt;domain&gt;/frames</c>, in which frame <c>f</c> is the page at byte
/// <c>f * 4096</c> (docs/unix-backend.md, "Frames"). Domain 0 is the privileged one: only it maps
/// another domain's frames.
/// </summary>
/// <remarks>Create it beside the domain's <see cref="UnixMemory"/>, which holds the domain's folder, and
/// dispose it first. Views already made stay valid after disposal until they are disposed.</remarks>
public readonly struct UnixFrames : IForeignFrames
{
    /// <summary>The file's name in a domain's folder.</summary>
    public const string FileName = "frames";

    private readonly FrameFile? _file;
    private readonly string? _root;

    /// <summary>Opens (creating it if needed) the memory of <paramref name="memory"/>'s domain.</summary>
    /// <exception cref="FrameException">The file cannot be opened.</exception>
    public UnixFrames(UnixMemory memory)
    {
        _root = memory.Root;
        var path = Path.Combine(XenRoot.DomainPath(_root, memory.LocalDomain), FileName);
        var fd = Interop.Libc.Open(path, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT, Convert.ToInt32("600", 8));
        if (fd.IsInvalid)
        {
            var error = Interop.Errno.Message("open", path);
            fd.Dispose();
            throw new FrameException($"Opening domain {memory.LocalDomain}'s memory failed ({error}).");
        }
        _file = new FrameFile(fd, memory.LocalDomain);
    }

    private FrameFile File => _file ?? throw new InvalidOperationException("This UnixFrames was not created with its constructor.");

    /// <inheritdoc />
    public ushort LocalDomain => File.Domain;

    /// <inheritdoc />
    public FramePages Allocate(int pageCount)
    {
        var (address, frames) = File.Allocate(pageCount);
        return new FileFramePages(File, address, frames);
    }

    /// <inheritdoc />
    public ForeignMapping MapForeign(ushort remoteDomain, ReadOnlySpan<ulong> frames, bool writable)
    {
        if (File.Domain != 0)
            throw new FrameException($"Domain {File.Domain} is not privileged: only domain 0 maps another domain's frames.");
        var path = Path.Combine(XenRoot.DomainPath(_root!, remoteDomain), FileName);
        var fd = Interop.Libc.Open(path, writable ? Interop.Libc.O_RDWR : Interop.Libc.O_RDONLY);
        if (fd.IsInvalid)
        {
            var error = Interop.Errno.Message("open", path);
            fd.Dispose();
            throw new FrameException($"Domain {remoteDomain} has no memory to map ({error}).");
        }
        // The mapping keeps the pages; the descriptor is not needed past mmap.
        using var file = new FrameFile(fd, remoteDomain);
        return new FileForeignMapping(file.Map(frames, writable), remoteDomain, frames.ToArray(), writable);
    }

    /// <inheritdoc />
    public void Dispose() => _file?.Dispose();
}
