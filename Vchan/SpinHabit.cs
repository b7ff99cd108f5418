namespace Vchan;

/// <summary>
/// What one direction's last spins said about where the peer runs. A peer on another core answers
/// within a spin's first looks. A peer on this end's own core (the scheduler keeps two ends that are
/// always runnable on one core while other work holds the other) can only answer once this end yields,
/// so the looks before the first yield are wasted, at every one of the 32 hand-overs of a 64 KiB write
/// through a 2 KiB ring. After <see cref="Threshold"/> spins in a row answered only past a yield, the
/// spins yield at once; every <see cref="ProbeEvery"/>th of them looks first as before, so that a peer
/// that has moved to another core is noticed.
/// </summary>
/// <remarks>A mutable struct kept in a field: one for the reader, one for the writer, each used by that
/// side alone.</remarks>
internal struct SpinHabit
{
    /// <summary>Spins in a row answered only past a yield before the spins yield at once.</summary>
    internal const int Threshold = 8;

    /// <summary>While yielding at once, one spin in this many looks first.</summary>
    internal const int ProbeEvery = 16;

    private int _answeredPastYield;
    private int _spins;

    /// <summary>Whether the next spin should yield at once; call once per spin.</summary>
    public bool NextYieldsAtOnce() => _answeredPastYield >= Threshold && (++_spins & (ProbeEvery - 1)) != 0;

    /// <summary>The spin saw the peer's answer, past its first yield or before it.</summary>
    public void Answered(bool pastYield) => _answeredPastYield = pastYield ? Math.Min(_answeredPastYield + 1, Threshold) : 0;

    /// <summary>The spin ran out of time: the peer is idle or not running, wherever it is.</summary>
    public void TimedOut() => _answeredPastYield = 0;
}
