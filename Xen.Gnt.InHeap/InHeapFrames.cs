
namespace Xen.Gnt.InHeap;

/// <summary>
/// One domain's memory by frame number on an <see cref="InHeapGrantHub"/>; obtain it with
/// <see cref="InHeapGrantHub.OpenFrames"/>. Disposing it ends the domain's memory: no new foreign
/// mapping reaches it, while views already made stay valid until they are disposed.
/// </summary>
public readonly struct InHeapFrames : IForeignFrames
{
    private readonly InHeapGrantHub? _hub;
    private readonly FrameFile? _file;

    internal InHeapFrames(InHeapGrantHub hub, FrameFile file)
    {
        _hub = hub;
        _file = file;
    }

    private FrameFile File => _file ?? throw new InvalidOperationException("This InHeapFrames was not obtained from InHeapGrantHub.OpenFrames.");

    /// <inheritdoc />
    public ushort LocalDomain => File.Domain;

    /// <inheritdoc />
    public FramePages Allocate(int pageCount)
    {
        var (address, frames) = File.Allocate(pageCount);
        return new FileFramePages(File, address, frames);
    }

    /// <inheritdoc />
    public ForeignMapping MapForeign(ushort remoteDomain, ReadOnlySpan<ulong> frames, bool writable) =>
        _hub!.MapForeign(File.Domain, remoteDomain, frames, writable);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_file is not null)
            _hub!.CloseFrames(_file);
    }
}
