using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>
/// The producing end of an <see cref="EventRingLayout"/> ring. Its own <c>prod</c> is kept privately,
/// so a peer that scribbles on the page cannot make it overwrite events the peer has not consumed;
/// the peer's <c>cons</c> is read once per call and checked against the window.
/// </summary>
/// <remarks>Not thread-safe: one producer per ring. Notify the peer after events were written.</remarks>
public sealed unsafe class EventRingProducer
{
    private readonly PageBuffer _page;
    private readonly EventRingLayout _layout;
    private uint _prod;

    /// <summary>Produces on <paramref name="page"/>, starting where its <c>prod</c> says.</summary>
    public EventRingProducer(PageBuffer page, EventRingLayout layout)
    {
        ArgumentNullException.ThrowIfNull(page);
        _page = page;
        _layout = layout;
        _prod = Volatile.Read(ref *(uint*)(page.Pointer + layout.ProdOffset));
    }

    /// <summary>Events written and not yet consumed.</summary>
    /// <exception cref="RingProtocolException">The peer's <c>cons</c> is outside the window.</exception>
    public int Pending
    {
        get
        {
            var cons = Volatile.Read(ref *(uint*)(_page.Pointer + _layout.ConsOffset));
            var used = _prod - cons;
            if (used > (uint)_layout.Length)
                throw new RingProtocolException($"The consumer's index {cons} is outside the window [{_prod - (uint)_layout.Length}, {_prod}] of a {_layout.Length}-slot event ring.");
            return (int)used;
        }
    }

    /// <summary>Writes <paramref name="evt"/> (at most one event's size; the rest of the slot is zeroed) unless the ring is full.</summary>
    /// <returns>False when the ring is full.</returns>
    /// <exception cref="RingProtocolException">The peer's <c>cons</c> is outside the window.</exception>
    public bool TryWrite(ReadOnlySpan<byte> evt)
    {
        if (evt.Length > _layout.EventSize)
            throw new ArgumentException($"An event is at most {_layout.EventSize} bytes.", nameof(evt));
        if (Pending == _layout.Length)
            return false;
        var slot = new Span<byte>(_page.Pointer + _layout.SlotOffset(_prod), _layout.EventSize);
        evt.CopyTo(slot);
        slot[evt.Length..].Clear();
        _prod++;
        // The slot is written before the index that publishes it.
        Volatile.Write(ref *(uint*)(_page.Pointer + _layout.ProdOffset), _prod);
        return true;
    }
}
