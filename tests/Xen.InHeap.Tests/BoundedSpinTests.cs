using System.Diagnostics;
using Xen.Evtchn;

namespace Xen.InHeap.Tests;

/// <summary>The spin before a wait looks at shared memory between short pauses and reads the clock only when it yields.</summary>
public sealed class BoundedSpinTests
{
    [Fact]
    public void A_spin_with_no_time_left_still_looks_63_times_and_ends_at_its_first_yield()
    {
        var spin = new BoundedSpin(ticks: 0);
        for (var look = 1; look < 64; look++)
            Assert.True(spin.Continue(), $"look {look}");
        Assert.False(spin.Continue());
    }

    [Fact]
    public void A_spin_with_time_left_goes_on_past_its_yields()
    {
        var spin = new BoundedSpin(TimeSpan.FromDays(1));
        for (var look = 1; look <= 64 * 3; look++)
            Assert.True(spin.Continue(), $"look {look}");
    }

    [Fact]
    public void A_spins_time_counts_from_its_first_yield_not_from_when_it_was_made()
    {
        const long Ticks = 1000;
        var spin = new BoundedSpin(Ticks);
        // Past the time a spin counted from here would have had (a busy wait on the clock, not a sleep).
        var made = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() - made <= Ticks)
        {
        }
        for (var look = 1; look < 64; look++)
            Assert.True(spin.Continue(), $"look {look}");
        Assert.True(spin.Continue(), "the first yield starts the time");
    }

    [Fact]
    public void A_spin_that_looks_first_comes_to_its_first_yield_at_its_64th_call()
    {
        var spin = new BoundedSpin(TimeSpan.FromDays(1));
        for (var look = 1; look < 64; look++)
        {
            Assert.True(spin.Continue(), $"look {look}");
            Assert.False(spin.HasYielded, $"look {look}");
        }
        Assert.True(spin.Continue());
        Assert.True(spin.HasYielded);
    }

    [Fact]
    public void A_spin_that_yields_at_once_comes_to_its_first_yield_at_its_first_call()
    {
        var spin = new BoundedSpin(ticks: 0, yieldAtOnce: true);
        Assert.False(spin.HasYielded);
        // No time: the first call is where the time starts and ends.
        Assert.False(spin.Continue());
        Assert.True(spin.HasYielded);
    }

    [Fact]
    public void A_spin_that_yields_at_once_goes_on_while_it_has_time()
    {
        var spin = new BoundedSpin(TimeSpan.FromDays(1), yieldAtOnce: true);
        for (var look = 1; look <= 10; look++)
            Assert.True(spin.Continue(), $"look {look}");
        Assert.True(spin.HasYielded);
    }
}
