namespace Vchan.Tests;

/// <summary>
/// A side's spins yield at once when the peer has answered only past a yield, spin after spin (it shares
/// this side's core), and look first again as soon as it answers sooner or not at all.
/// </summary>
public class SpinHabitTests
{
    [Fact]
    public void A_new_habit_looks_first()
    {
        var habit = new SpinHabit();
        for (var spin = 0; spin < 100; spin++)
            Assert.False(habit.NextYieldsAtOnce());
    }

    [Fact]
    public void Spins_yield_at_once_after_eight_answers_in_a_row_past_a_yield()
    {
        var habit = new SpinHabit();
        for (var answer = 1; answer < SpinHabit.Threshold; answer++)
        {
            Assert.False(habit.NextYieldsAtOnce());
            habit.Answered(pastYield: true);
        }
        Assert.False(habit.NextYieldsAtOnce());
        habit.Answered(pastYield: true);
        Assert.True(habit.NextYieldsAtOnce());
    }

    [Fact]
    public void While_yielding_at_once_one_spin_in_sixteen_looks_first()
    {
        var habit = Yielding();
        var looksFirst = 0;
        for (var spin = 0; spin < SpinHabit.ProbeEvery * 4; spin++)
        {
            if (!habit.NextYieldsAtOnce())
                looksFirst++;
            habit.Answered(pastYield: true);
        }
        Assert.Equal(4, looksFirst);
    }

    [Fact]
    public void An_answer_before_the_first_yield_ends_the_habit()
    {
        var habit = Yielding();
        habit.Answered(pastYield: false);
        Assert.False(habit.NextYieldsAtOnce());
    }

    [Fact]
    public void A_spin_that_ran_out_of_time_ends_the_habit()
    {
        var habit = Yielding();
        habit.TimedOut();
        Assert.False(habit.NextYieldsAtOnce());
    }

    private static SpinHabit Yielding()
    {
        var habit = new SpinHabit();
        for (var answer = 0; answer < SpinHabit.Threshold; answer++)
            habit.Answered(pastYield: true);
        return habit;
    }
}
