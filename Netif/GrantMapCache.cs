using Xen.Gnt;

namespace Netif;

/// <summary>
/// Mappings of the frontend's data pages, kept by grant ref across frames
/// (<see cref="NetbackOptions.KeepMappings"/>): a frontend that keeps a fixed pool of granted pages
/// for the whole connection, as this project's netfront does, has each mapped once rather than once
/// per frame. Safe only with such a frontend: a ref that is still mapped cannot be ended, and Linux's
/// netfront ends each one at its response. When full, the oldest half is unmapped. One thread uses a
/// cache at a time.
/// </summary>
internal sealed class GrantMapCache<TMemory> : IDisposable
    where TMemory : IMemory
{
    // Mutable when TMemory is a struct: never readonly, or each call is made on a defensive copy.
#pragma warning disable IDE0044
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly ushort _domain;
    private readonly bool _writable;
    private readonly int _capacity;
    private readonly Dictionary<uint, Mapping> _maps;
    private readonly Queue<uint> _order;

    public GrantMapCache(TMemory memory, ushort domain, bool writable, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _memory = memory;
        _domain = domain;
        _writable = writable;
        _capacity = capacity;
        _maps = new Dictionary<uint, Mapping>(capacity);
        _order = new Queue<uint>(capacity);
    }

    public int Count => _maps.Count;

    /// <summary>The mapping of <paramref name="grant"/>, or null when the frontend did not grant it to us.</summary>
    public Mapping? TryGet(GrantRef grant)
    {
        if (_maps.TryGetValue(grant.Value, out var mapping))
            return mapping;
        return MapSlow(grant);
    }

    private Mapping? MapSlow(GrantRef grant)
    {
        Mapping mapping;
        try
        {
            mapping = _memory.Map(_domain, grant, _writable);
        }
        catch (GrantException)
        {
            return null;
        }
        if (_maps.Count >= _capacity)
            EvictHalf();
        _maps.Add(grant.Value, mapping);
        _order.Enqueue(grant.Value);
        return mapping;
    }

    private void EvictHalf()
    {
        for (var i = _capacity / 2; i > 0 && _order.TryDequeue(out var old); i--)
        {
            if (_maps.Remove(old, out var mapping))
                _memory.Unmap(mapping);
        }
    }

    public void Dispose()
    {
        foreach (var mapping in _maps.Values)
            _memory.Unmap(mapping);
        _maps.Clear();
        _order.Clear();
    }
}
