using Xen.Gnt;

namespace Blkif;

/// <summary>
/// The pages a blkfront has granted for <c>AllocateSharedBuffer</c>, kept for the device's life as
/// <c>feature-persistent</c> promises: a buffer given back is lent again to the next caller that asks
/// for as many pages, with the same grant refs, so the backend maps each page once however often the
/// caller allocates, and its map of persistent grants never fills with grants that were ended.
/// </summary>
/// <remarks>
/// At most <see cref="MaxPooledPages"/> pages wait in the pool; a buffer given back past that, or after
/// the device is gone, ends its grants. A buffer still lent when the device goes ends them when it is
/// given back: its caller may still be using the memory.
/// </remarks>
internal sealed class SharedBufferPool
{
    /// <summary>Pages kept for reuse: 16 MiB, four 1 MiB buffers on each of four queues.</summary>
    public const int MaxPooledPages = 4096;

    private readonly Lock _gate = new();
    private readonly List<Share> _free = [];
    private int _freePages;
    private bool _closed;

    /// <summary>A pooled share of <paramref name="pageCount"/> pages, cleared, lent as a new buffer; or null.</summary>
    public Share? TryLend(int pageCount)
    {
        Share? found = null;
        lock (_gate)
        {
            for (var i = _free.Count - 1; i >= 0; i--)
            {
                if (_free[i].PageCount == pageCount)
                {
                    found = _free[i];
                    _free.RemoveAt(i);
                    _freePages -= pageCount;
                    break;
                }
            }
        }
        if (found is null)
            return null;
        // A buffer starts as fresh granted pages do: zeroed, with nothing of its last user's data.
        found.Span.Clear();
        return new Lent(this, found);
    }

    /// <summary>Lends a share just granted.</summary>
    public Share Lend(Share share) => new Lent(this, share);

    private void GiveBack(Share share)
    {
        lock (_gate)
        {
            if (!_closed && _freePages + share.PageCount <= MaxPooledPages)
            {
                _free.Add(share);
                _freePages += share.PageCount;
                return;
            }
        }
        share.Dispose();
    }

    /// <summary>Ends the grants of every buffer in the pool; buffers still lent end theirs when given back.</summary>
    public void Close()
    {
        Share[] free;
        lock (_gate)
        {
            _closed = true;
            free = [.. _free];
            _free.Clear();
            _freePages = 0;
        }
        foreach (var share in free)
            share.Dispose();
    }

    /// <summary>
    /// Counts a request that names the pages of <paramref name="share"/> as in flight, when the share
    /// is a buffer this pool lent: a buffer its caller disposes meanwhile comes back only once every
    /// such request is answered, so a late read never lands in the next borrower's pages.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public static void BeginUse(Share share)
    {
        if (share is Lent lent)
            lent.BeginUse();
    }

    /// <summary>Ends what <see cref="BeginUse"/> began: the request was answered or failed.</summary>
    public static void EndUse(Share share)
    {
        if (share is Lent lent)
            lent.EndUse();
    }

    /// <summary>A pooled share as its caller sees it: the same pages and refs; disposing it gives them back.</summary>
    private sealed class Lent(SharedBufferPool pool, Share pages)
        : Share(pages.Address, pages.RemoteDomain, pages.Refs, pages.PeerWritable, default)
    {
        private int _uses;
        private int _disposed;
        private int _givenBack;

        public void BeginUse()
        {
            Interlocked.Increment(ref _uses);
            // Both sides write, then look at the other's word: a dispose and a request racing each
            // other cannot both miss, so either the request fails here or the dispose waits for it.
            if (Volatile.Read(ref _disposed) != 0)
            {
                EndUse();
                throw new ObjectDisposedException(nameof(Share), "The shared buffer was disposed.");
            }
        }

        public void EndUse()
        {
            if (Interlocked.Decrement(ref _uses) == 0 && Volatile.Read(ref _disposed) != 0)
                GiveBack();
        }

        protected override void Release(bool disposing)
        {
            Interlocked.Exchange(ref _disposed, 1);
            if (Volatile.Read(ref _uses) == 0)
                GiveBack();
        }

        private void GiveBack()
        {
            if (Interlocked.Exchange(ref _givenBack, 1) == 0)
                pool.GiveBack(pages);
        }
    }
}
