namespace Xen.Gnt.InHeap;

/// <summary>
/// One domain on a grant hub: its grant table, its page file, and the shares and mappings it holds.
/// Outlives its death while peers still map its pages, as a Xen zombie domain does. Guarded by the hub's lock.
/// </summary>
internal sealed class GrantDomain(InHeapGrantHub hub, ushort id, Action<uint>? sendEvent, int maxPages)
{
    private readonly Dictionary<uint, Grant> _grants = [];
    // Ended refs wait in line before being handed out again, so a stale ref is unlikely to name a new grant.
    private readonly Queue<uint> _freeRefs = new();
    private uint _nextRef = GrantRef.FirstUnreserved;

    public InHeapGrantHub Hub { get; } = hub;

    public ushort Id { get; } = id;

    public Action<uint>? SendEvent { get; } = sendEvent;

    public PageFile Pages { get; } = new PageFile(id, maxPages);

    public HashSet<InHeapShare> Shares { get; } = [];

    public HashSet<InHeapMapping> Mappings { get; } = [];

    /// <summary>Disposed or killed: it can do nothing, and nobody can map its grants any more.</summary>
    public bool Dead { get; set; }

    public Grant? FindShared(GrantRef reference) =>
        _grants.TryGetValue(reference.Value, out var grant) && grant.Shared ? grant : null;

    public Grant[] AddGrants(ushort remoteDomain, bool writable, long[] pages)
    {
        // A new ref is minted only when none waits in line, so refs never outnumber the page limit.
        var grants = new Grant[pages.Length];
        for (var i = 0; i < pages.Length; i++)
        {
            var reference = _freeRefs.Count > 0 ? _freeRefs.Dequeue() : _nextRef++;
            grants[i] = new Grant(this, new GrantRef(reference), remoteDomain, writable, pages[i]);
            _grants.Add(reference, grants[i]);
        }
        return grants;
    }

    /// <summary>Ends an entry whose share and mappings are all gone: its ref and page may be handed out again.</summary>
    public void RemoveGrant(Grant grant)
    {
        _grants.Remove(grant.Ref.Value);
        _freeRefs.Enqueue(grant.Ref.Value);
        Pages.Free(grant.Page);
        if (Dead && Pages.InUse == 0)
            Pages.Dispose();
    }

    public override string ToString() => $"in-heap grant domain {Id}";
}
