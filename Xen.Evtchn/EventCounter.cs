namespace Xen.Evtchn;

/// <summary>
/// How many notifications a channel has received, as a monotonic counter. A waiter passes the last
/// value it saw to <see cref="IEvents.RecvAsync"/>, which completes as soon as the counter has moved
/// past it: a notification that arrives while nobody waits is remembered, and several that arrive
/// together are coalesced into one wake-up.
/// </summary>
/// <param name="Value">The number of notifications received so far.</param>
public readonly record struct EventCounter(ulong Value) : IComparable<EventCounter>
{
    /// <summary>The counter of a channel that has received nothing yet.</summary>
    public static EventCounter Initial => default;

    /// <inheritdoc />
    public int CompareTo(EventCounter other) => Value.CompareTo(other.Value);

    /// <summary>Whether <paramref name="left"/> is later than <paramref name="right"/>.</summary>
    public static bool operator >(EventCounter left, EventCounter right) => left.Value > right.Value;

    /// <summary>Whether <paramref name="left"/> is earlier than <paramref name="right"/>.</summary>
    public static bool operator <(EventCounter left, EventCounter right) => left.Value < right.Value;

    /// <summary>Whether <paramref name="left"/> is at least <paramref name="right"/>.</summary>
    public static bool operator >=(EventCounter left, EventCounter right) => left.Value >= right.Value;

    /// <summary>Whether <paramref name="left"/> is at most <paramref name="right"/>.</summary>
    public static bool operator <=(EventCounter left, EventCounter right) => left.Value <= right.Value;
}
