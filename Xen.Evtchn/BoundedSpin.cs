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
/// <see cref="SpinWait"/> backs off to a system call every other round after its first ten, so a peer's
/// answer is noticed a system call late and each round costs one; a C spinner pauses between looks
/// instead, and so does this. A mutable struct: keep it in a local.
/// </remarks>
public struct BoundedSpin
{
    private const int PollsPerYield = 64;

    private readonly long _until;
    private int _polls;

    /// <summary>Starts a spin of <paramref name="ticks"/> <see cref="Stopwatch"/> ticks from now.</summary>
    public BoundedSpin(long ticks) => _until = Stopwatch.GetTimestamp() + ticks;

    /// <summary>Starts a spin of <paramref name="time"/> from now.</summary>
    public BoundedSpin(TimeSpan time)
        : this((long)(time.TotalSeconds * Stopwatch.Frequency))
    {
    }

    /// <summary>Waits a moment; false once the time is up (the caller then looks one last time and blocks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Continue()
    {
        if ((++_polls & (PollsPerYield - 1)) != 0)
        {
            Thread.SpinWait(1);
            return true;
        }
        return YieldAndCheck();
    }

    // Time up: no yield, the caller blocks next anyway.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly bool YieldAndCheck()
    {
        if (Stopwatch.GetTimestamp() >= _until)
            return false;
        Thread.Yield();
        return true;
    }
}
