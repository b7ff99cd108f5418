using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>
/// The consuming end of an <see cref="EventRingLayout"/> ring. Its own <c>cons</c> is kept privately;
/// the peer's <c>prod</c> is read once per call and checked against the window, and each event is
/// copied out of the page before it is looked at.
/// </summary>
/// <remarks>Not thread-safe: one consumer per ring. Notify the peer after events were consumed.</remarks>
public sealed unsafe class EventRingConsumer
{
    private readonly PageBuffer _page;
    private readonly EventRingLayout _layout;
    private uint _cons;
    private uint _prod;

    /// <summary>Consumes from <paramref name="page"/>, starting where its <c>cons</c> says.</summary>
    public EventRingConsumer(PageBuffer page, EventRingLayout layout)
    {
        ArgumentNullException.ThrowIfNull(page);
        _page = page;
        _layout = layout;
        _cons = Volatile.Read(ref *(uint*)(page.Pointer + layout.ConsOffset));
        _prod = _cons;
    }

    /// <summary>Copies the next event into <paramref name="evt"/> (one event's size) and consumes it.</summary>
    /// <returns>False when the ring is empty.</returns>
    /// <exception cref="RingProtocolException">The peer's <c>prod</c> is outside the window.</exception>
    public bool TryRead(Span<byte> evt)
    {
        if (evt.Length < _layout.EventSize)
            throw new ArgumentException($"An event is {_layout.EventSize} bytes.", nameof(evt));
        if (_cons == _prod)
        {
            var prod = Volatile.Read(ref *(uint*)(_page.Pointer + _layout.ProdOffset));
            if (prod - _cons > (uint)_layout.Length)
                throw new RingProtocolException($"The producer's index {prod} is outside the window [{_cons}, {_cons + (uint)_layout.Length}] of a {_layout.Length}-slot event ring.");
            _prod = prod;
            if (_cons == _prod)
                return false;
        }
        new ReadOnlySpan<byte>(_page.Pointer + _layout.SlotOffset(_cons), _layout.EventSize).CopyTo(evt);
        _cons++;
        // The slot is copied before the index that frees it.
        Volatile.Write(ref *(uint*)(_page.Pointer + _layout.ConsOffset), _cons);
        return true;
    }
}
