namespace Xen.Gnt.InHeap;

/// <summary>
/// The pages one domain has granted, as a Linux memfd: each page lives at a fixed offset of the
/// file, so the domain's share and every peer's mapping are separate MAP_SHARED views of the same
/// memory. Freed pages get a hole punched (which also zeroes them) and are handed out again.
/// Not thread-safe: the hub's lock guards it.
/// </summary>
internal sealed class PageFile : IDisposable
{
    private readonly Stack<long> _free = new();
    private readonly int _maxPages;
    private long _capacity;
    private readonly SafeFd _file;

    public PageFile(ushort domain, int maxPages)
    {
        _maxPages = maxPages;
        _file = Interop.Libc.MemfdCreate($"xen-inheap-dom{domain}", Interop.Libc.MFD_CLOEXEC);
        if (_file.IsInvalid)
        {
            var error = Interop.Errno.Message("memfd_create");
            _file.Dispose();
            throw new GrantException(GrantStatus.NoSpace, $"Opening domain {domain}'s grant file failed ({error}).");
        }
    }

    public SafeFd Descriptor => _file.IsClosed ? throw new ObjectDisposedException(nameof(PageFile)) : _file;

    /// <summary>Pages handed out and not yet freed.</summary>
    public int InUse { get; private set; }

    /// <summary>Takes <paramref name="count"/> zeroed pages, growing the file if needed; all or none.</summary>
    public long[] Allocate(int count)
    {
        if (count > _maxPages - InUse)
            throw new GrantException(GrantStatus.NoSpace, $"Sharing {count} more pages would pass this domain's limit of {_maxPages}.");
        if (_free.Count < count)
            Grow(count - _free.Count);
        var pages = new long[count];
        for (var i = 0; i < count; i++)
            pages[i] = _free.Pop();
        InUse += count;
        return pages;
    }

    /// <summary>Gives a page back: its memory is released and reads as zero when handed out again.</summary>
    public void Free(long page)
    {
        // Punching fails only on kernels without the feature; the page then keeps its memory and
        // its old content, so zero it by hand to keep "new pages are zeroed" true.
        if (Interop.Libc.FAllocate(Descriptor, Interop.Libc.FALLOC_FL_PUNCH_HOLE | Interop.Libc.FALLOC_FL_KEEP_SIZE,
                page * PageBuffer.PageSize, PageBuffer.PageSize) != 0)
            ZeroByHand(page);
        _free.Push(page);
        InUse--;
    }

    public void Dispose() => _file.Dispose();

    private void Grow(long atLeast)
    {
        var capacity = Math.Min(Math.Max(Math.Max(_capacity * 2, _capacity + atLeast), 16), _capacity + _maxPages);
        if (Interop.Libc.FTruncate(Descriptor, capacity * PageBuffer.PageSize) != 0)
            throw new GrantException(GrantStatus.NoSpace, $"Growing the grant file to {capacity} pages failed ({Interop.Errno.Message("ftruncate")}).");
        // Lowest pages on top, so that they are handed out first.
        for (var page = capacity - 1; page >= _capacity; page--)
            _free.Push(page);
        _capacity = capacity;
    }

    private unsafe void ZeroByHand(long page)
    {
        var view = View.Create([(Descriptor, page)], writable: true);
        new Span<byte>((void*)view, PageBuffer.PageSize).Clear();
        View.Destroy(view, 1);
    }
}
