using Xen.Gnt;

namespace Blkif;

/// <summary>
/// The grants a blkback keeps mapped (<c>feature-persistent</c>): each page the frontend names is
/// mapped writable once and reused by later requests, up to a limit; past it, requests map their
/// pages for themselves. One per ring, used by its loop only.
/// </summary>
internal sealed class PersistentGrants<TMemory>(TMemory memory, ushort frontend, int capacity) : IDisposable
    where TMemory : IMemory
{
    private readonly Dictionary<GrantRef, Mapping> _mapped = [];
    // Mutable when TMemory is a struct.
#pragma warning disable IDE0044
    private TMemory _memory = memory;
#pragma warning restore IDE0044

    public int Count => _mapped.Count;

    /// <summary>The page mapped for <paramref name="gref"/>, mapping it now if there is room; null when full.</summary>
    /// <exception cref="GrantException">The frontend did not grant the page writable to us.</exception>
    public Mapping? Get(GrantRef gref)
    {
        if (_mapped.TryGetValue(gref, out var page))
            return page;
        if (_mapped.Count >= capacity)
            return null;
        // Persistent grants are mapped writable whatever the request: the frontend promised to reuse them.
        page = _memory.Map(frontend, gref, writable: true);
        _mapped.Add(gref, page);
        return page;
    }

    public void Dispose()
    {
        foreach (var page in _mapped.Values)
            page.Dispose();
        _mapped.Clear();
    }
}
