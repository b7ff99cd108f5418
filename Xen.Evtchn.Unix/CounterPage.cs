namespace Xen.Evtchn.Unix;

/// <summary>
/// The layout of a channel's counter page, one 4096-byte page shared by the two ends (see
/// <c>docs/unix-backend.md</c>): for each end, how many notifications it has received and whether it
/// is waiting. A sender bumps the peer's counter and rings the peer's <see cref="Doorbell"/> only if
/// the peer is waiting, so a receiver that spins never needs a system call.
/// </summary>
internal static class CounterPage
{
    /// <summary>The listening end's received-notification counter (<c>u64</c>).</summary>
    public const int ListenerEvents = 0;

    /// <summary>Non-zero while the listening end is blocked, or about to block (<c>u32</c>).</summary>
    public const int ListenerWaiting = 8;

    /// <summary>The connecting end's received-notification counter (<c>u64</c>), on its own cache line.</summary>
    public const int ConnectorEvents = 64;

    /// <summary>Non-zero while the connecting end is blocked, or about to block (<c>u32</c>).</summary>
    public const int ConnectorWaiting = 72;
}
