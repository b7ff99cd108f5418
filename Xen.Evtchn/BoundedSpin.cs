using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Xen.Evtchn;

/// <summary>
/// A busy wait on shared memory that ends at a deadline: the caller looks at its condition, then calls
/// <see cref="Continue"/>, which pauses for about one cache-line round trip and says whether to look
/// again. Every 64th call reads the clock instead and, if there is time left, gives the core away, so
/// that a peer waiting for this core (fewer free cores than spinners) can run and answer.
/// </summary>
/// <remarks>
/// <para><see cref="SpinWait"/> backs off to a system call every other round after its first ten, so a
/// peer's answer is noticed a system call late and each round costs one; a C spinner pauses between
/// looks instead, and so does this, with <see cref="Thread.SpinWait(int)"/> of one (a bare
/// <c>pause</c> instruction measured slower on the spinning round trip, 0.18-0.19 against
/// 0.14-0.16 us, in back-to-back runs on the 2-core machine).</para>
/// <para>The time counts from the first yield, after 63 looks: most spins end sooner (a peer on another
/// core answers within a microsecond), and those then read no clock at all, which on a spinning round
/// trip was an eighth of the CPU time. A mutable struct: keep it in a local.</para>
/// <para>A caller that knows its peer shares its core (the peer answered only after a yield, spin after
/// spin) can ask for a spin that yields at every call instead: the 63 looks before the first yield
/// cannot be answered then. With both ends of a vchan forced onto one core, yielding at once took a
/// third less CPU per 64 KiB on each side.</para>
/// </remarks>
public struct BoundedSpin
{
    private const int PollsPerYield = 64;

    private readonly long _ticks;
    // Looks between yields, less one: a power of two less one, so the hot test is a mask.
    private readonly int _pollMask;
    private long _until;
    private int _polls;

    /// <summary>
    /// A spin of <paramref name="ticks"/> <see cref="Stopwatch"/> ticks, counted from its first yield;
    /// with <paramref name="yieldAtOnce"/> every call yields (and reads the clock), for a peer that can
    /// only answer once this thread gives its core away.
    /// </summary>
    public BoundedSpin(long ticks, bool yieldAtOnce = false)
    {
        _ticks = ticks;
        _pollMask = yieldAtOnce ? 0 : PollsPerYield - 1;
    }

    /// <summary>A spin of <paramref name="time"/>, counted from its first yield; see <see cref="BoundedSpin(long, bool)"/>.</summary>
    public BoundedSpin(TimeSpan time, bool yieldAtOnce = false)
        : this((long)(time.TotalSeconds * Stopwatch.Frequency), yieldAtOnce)
    {
    }

    /// <summary>Whether the spin has come to its first yield (or, out of time, to where it would have yielded).</summary>
    public readonly bool HasYielded => _polls > _pollMask;

    /// <summary>Waits a moment; false once the time is up (the caller then looks one last time and blocks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Continue()
    {
        if ((++_polls & _pollMask) != 0)
        {
            Thread.SpinWait(1);
            return true;
        }
        return YieldAndCheck();
    }

    // Time up: no yield, the caller blocks next anyway.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool YieldAndCheck()
    {
        var now = Stopwatch.GetTimestamp();
        if (_polls == _pollMask + 1)
            _until = now + _ticks;
        if (now >= _until)
            return false;
        Thread.Yield();
        return true;
    }
}
