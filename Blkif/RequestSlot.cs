using Xen.Gnt;

namespace Blkif;

/// <summary>
/// One request id of a blkfront queue, and the pages that travel with it: data pages and indirect
/// pages, granted to the backend once (writable, as <c>feature-persistent</c> asks) and reused by
/// every request that takes this id. Pages are added the first time a request needs them.
/// </summary>
internal sealed unsafe class RequestSlot : IDisposable
{
    private readonly List<Share> _shares = [];
    private nint[] _pages = [];
    private GrantRef[] _refs = [];
    private Share? _indirect;

    public RequestSlot(ushort id) => Id = id;

    public ushort Id { get; }

    /// <summary>The call this request belongs to, while it is in flight: set under the queue's lock as
    /// the request goes on the ring, and taken (exchanged for null) by whoever finishes it.</summary>
    public BlockOperation? Operation;

    /// <summary>Where a read's data goes when the response arrives.</summary>
    public Memory<byte> ReadTarget;

    /// <summary>What the request asked, for the error message.</summary>
    public BlkifOperation Kind;

    /// <summary>The first sector, for the error message.</summary>
    public ulong Sector;

    /// <summary>The bytes the request moves, for the metrics.</summary>
    public int Bytes;

    /// <summary>The caller's shared buffer the request names (<c>SubmitDirect</c>), while it is in flight.</summary>
    public Share? SharedBuffer;

    /// <summary>Whether the request on the ring counts as large (see <c>BlkfrontQueue.Spin</c>).</summary>
    public bool Large;

    public int PageCount => _pages.Length;

    /// <summary>Records what the request about to go on the ring is for: its completion needs it.</summary>
    public void Start(BlkifOperation kind, ulong sector, int bytes, Memory<byte> readTarget)
    {
        Kind = kind;
        Sector = sector;
        Bytes = bytes;
        ReadTarget = readTarget;
    }

    public byte* Page(int index) => (byte*)_pages[index];

    public GrantRef Ref(int index) => _refs[index];

    /// <summary>Makes sure at least <paramref name="count"/> data pages are granted.</summary>
    public void EnsurePages<TMemory>(ref TMemory memory, ushort backend, int count) where TMemory : IMemory
    {
        var have = _pages.Length;
        if (count <= have)
            return;
        var share = memory.Share(backend, count - have, writable: true);
        _shares.Add(share);
        var pages = new nint[count];
        var refs = new GrantRef[count];
        _pages.AsSpan().CopyTo(pages);
        _refs.AsSpan().CopyTo(refs);
        for (var i = have; i < count; i++)
        {
            pages[i] = (nint)(share.Pointer + (i - have) * PageBuffer.PageSize);
            refs[i] = share.Refs[i - have];
        }
        _pages = pages;
        _refs = refs;
    }

    /// <summary>The indirect pages, granted the first time an indirect request takes this id.</summary>
    public Share Indirect<TMemory>(ref TMemory memory, ushort backend, int pages) where TMemory : IMemory =>
        _indirect ??= memory.Share(backend, pages, writable: true);

    public void Dispose()
    {
        foreach (var share in _shares)
            share.Dispose();
        _shares.Clear();
        _indirect?.Dispose();
        _pages = [];
        _refs = [];
    }
}
