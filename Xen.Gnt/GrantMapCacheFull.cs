namespace Xen.Gnt;

/// <summary>What a <see cref="GrantMapCache{TMemory}"/> does with a new grant when it is full.</summary>
public enum GrantMapCacheFull
{
    /// <summary>
    /// Map nothing more: <see cref="GrantMapCache{TMemory}.Get"/> returns null and the caller maps the
    /// page for that use alone. For a peer that reuses a bounded set of grants for the whole
    /// connection (blkif's <c>feature-persistent</c>): what is kept stays kept, and a page mapped once
    /// is never mapped again.
    /// </summary>
    Refuse,

    /// <summary>
    /// Unmap the oldest half of the mappings, except those the current use got, then map the new one.
    /// For a peer whose set of grants may drift over time: the cache follows it, at the price of
    /// mapping a page again after it was evicted.
    /// </summary>
    EvictOldestHalf,
}
