using System.Numerics;
using System.Runtime.CompilerServices;

namespace Xen.Gnt;

/// <summary>
/// Mappings of one peer's pages kept by grant ref, so that a page the peer names again and again is
/// mapped once: a backend's persistent grants. A use (a request, a frame) gets each page it needs with
/// <see cref="Get"/> and ends with <see cref="EndUse"/>: until then, nothing it got is unmapped, so
/// a use may hold several pages at once even when getting the last one makes the cache evict.
/// </summary>
/// <remarks>
/// Keeping a mapping keeps the peer's page mapped: a peer that ends its grant while it is still
/// mapped finds it busy (Linux's netfront then calls the device broken). Keep only the grants of a
/// peer that promised to keep them. One thread uses a cache at a time.
/// </remarks>
/// <typeparam name="TMemory">The memory backend.</typeparam>
public sealed class GrantMapCache<TMemory> : IDisposable
    where TMemory : IMemory
{
    private sealed class Entry(GrantRef grant, Mapping mapping)
    {
        public readonly GrantRef Grant = grant;
        public readonly Mapping Mapping = mapping;
        // The use that last got this page: while it is the current use, the page is not evicted.
        public ulong LastUse;
    }

    // Mutable when TMemory is a struct: never readonly, or each call is made on a defensive copy.
#pragma warning disable IDE0044
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly ushort _remoteDomain;
    private readonly bool _writable;
    private readonly int _capacity;
    private readonly GrantMapCacheFull _whenFull;
    private readonly Dictionary<GrantRef, Entry> _entries;
    private readonly Queue<GrantRef> _order; // oldest mapping first
    // The entry last got for each value of the ref's low bits: a peer names the same few hundred refs
    // over and over, usually numbered in a run, so most gets end here without hashing. Evicted entries
    // are cleared from it.
    private readonly Entry?[] _recent;
    private ulong _use = 1;
    private bool _disposed;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="memory">The memory backend that maps and unmaps the pages.</param>
    /// <param name="remoteDomain">The domain whose grants are mapped.</param>
    /// <param name="writable">Whether pages are mapped writable (every grant must then allow it).</param>
    /// <param name="capacity">How many mappings are kept at most; at least 1.</param>
    /// <param name="whenFull">What a new grant does to a full cache.</param>
    public GrantMapCache(TMemory memory, ushort remoteDomain, bool writable, int capacity, GrantMapCacheFull whenFull)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (!Enum.IsDefined(whenFull))
            throw new ArgumentOutOfRangeException(nameof(whenFull));
        _memory = memory;
        _remoteDomain = remoteDomain;
        _writable = writable;
        _capacity = capacity;
        _whenFull = whenFull;
        _entries = new Dictionary<GrantRef, Entry>(capacity);
        _order = new Queue<GrantRef>(capacity);
        _recent = new Entry?[(int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(capacity, MaxRecent))];
    }

    private const int MaxRecent = 4096;

    /// <summary>How many mappings are kept.</summary>
    public int Count => _entries.Count;

    /// <summary>How many mappings are kept at most.</summary>
    public int Capacity => _capacity;

    /// <summary>
    /// The page <paramref name="grant"/> names, mapped now if it is not yet; kept mapped at least
    /// until <see cref="EndUse"/>. Null when the cache is full and may not make room (see
    /// <see cref="GrantMapCacheFull"/>): map the page for this use alone.
    /// </summary>
    /// <exception cref="GrantException">The peer did not grant the page to this domain (writable, if
    /// the cache maps writable). Nothing is evicted.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public Mapping? Get(GrantRef grant)
    {
        var recent = _recent;
        var slot = (int)(grant.Value & (uint)(recent.Length - 1));
        var entry = recent[slot];
        if (entry is null || entry.Grant != grant)
        {
            if (!_entries.TryGetValue(grant, out entry))
                return Map(grant);
            recent[slot] = entry;
        }
        entry.LastUse = _use;
        return entry.Mapping;
    }

    /// <summary>
    /// The page <paramref name="grant"/> names if it is kept and was the last got for its slot of the
    /// recent table (the common case of a peer that names the same pages over and over), else null,
    /// having mapped nothing: then <see cref="Get"/> it. Unlike <see cref="Get"/> it does not hold the page
    /// for the current use, so it stays mapped only until the next <see cref="Get"/>, which may evict
    /// it: for a use of this one page, done with it before getting another. It never throws, and
    /// inlines.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Mapping? Peek(GrantRef grant)
    {
        var recent = _recent;
        var entry = recent[(int)(grant.Value & (uint)(recent.Length - 1))];
        return entry is not null && entry.Grant == grant ? entry.Mapping : null;
    }

    /// <summary>The current use is over: the pages it got may be evicted from now on.</summary>
    public void EndUse() => _use++;

    private Mapping? Map(GrantRef grant)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_entries.Count >= _capacity && _whenFull == GrantMapCacheFull.Refuse)
            return null;
        // Map first: a grant that cannot be mapped costs the cache nothing.
        var mapping = _memory.Map(_remoteDomain, grant, _writable);
        if (_entries.Count >= _capacity && !EvictOldestHalf())
        {
            // Every kept page is in use by the current use: this one is for it alone.
            _memory.Unmap(mapping);
            return null;
        }
        var entry = new Entry(grant, mapping) { LastUse = _use };
        _entries.Add(grant, entry);
        _order.Enqueue(grant);
        _recent[(int)(grant.Value & (uint)(_recent.Length - 1))] = entry;
        return mapping;
    }

    // Unmaps half the capacity (at least one), oldest first, passing over the pages of the current use (they
    // go to the back of the line). False when none could be unmapped.
    private bool EvictOldestHalf()
    {
        var evicted = 0;
        for (var left = _order.Count; left > 0 && evicted < Math.Max(_capacity / 2, 1); left--)
        {
            var old = _order.Dequeue();
            if (_entries[old].LastUse == _use)
            {
                _order.Enqueue(old);
                continue;
            }
            _entries.Remove(old, out var entry);
            ref var recent = ref _recent[(int)(old.Value & (uint)(_recent.Length - 1))];
            if (recent == entry)
                recent = null;
            _memory.Unmap(entry!.Mapping);
            evicted++;
        }
        return evicted > 0;
    }

    /// <summary>Unmaps every kept page.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var entry in _entries.Values)
            _memory.Unmap(entry.Mapping);
        _entries.Clear();
        Array.Clear(_recent);
        _order.Clear();
    }
}
