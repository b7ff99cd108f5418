namespace SharedMemoryRing;

/// <summary>How long the async ring layer spins on shared memory before it blocks on an event.</summary>
public static class RingWait
{
    /// <summary>
    /// The default number of spin rounds (each a short spin or a yield) before a waiter does the final
    /// check and sleeps on the event channel. Spinning saves a notification round trip when the peer is
    /// busy; blocking saves the CPU when it is not.
    /// </summary>
    public const int DefaultSpinCount = 64;
}
