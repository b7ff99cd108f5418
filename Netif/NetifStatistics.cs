namespace Netif;

/// <summary>Why a frame was dropped or a response ignored.</summary>
public enum NetifDropReason
{
    /// <summary>A slot named a grant ref that could not be mapped.</summary>
    BadGrantRef,
    /// <summary>A slot's offset plus size runs past the end of its page.</summary>
    SlotCrossesPage,
    /// <summary>The first slot's size (the whole frame) disagrees with the sizes of the later slots.</summary>
    SizeMismatch,
    /// <summary>The frame takes more slots than <see cref="Frames.MaxSlots"/>, or more extra-info slots than there are types.</summary>
    TooManySlots,
    /// <summary>An extra-info slot of an unknown type, or a GSO slot with an unknown kind or a zero size.</summary>
    BadExtraInfo,
    /// <summary>A frame shorter than an Ethernet header, or a response with an impossible length.</summary>
    BadSize,
    /// <summary>A response to an id that was never requested, or answered twice.</summary>
    UnknownId,
    /// <summary>The peer answered with an error or dropped status.</summary>
    PeerError,
    /// <summary>The frame needs a feature (scatter-gather, GSO) the peer did not negotiate.</summary>
    NotNegotiated,
    /// <summary>The frame is larger than the receiver's buffer.</summary>
    BufferTooSmall,
    /// <summary>The peer broke the ring protocol in a way that ends the connection (an index out of range,
    /// a frame that claims more slots than were pushed): the queue disconnected.</summary>
    Disconnected,
}

/// <summary>A snapshot of a netfront's or netback's counters, summed over its queues. Tx is always
/// the frontend-to-backend direction, rx the other.</summary>
public sealed record NetifStatistics
{
    /// <summary>Frames sent on (frontend) or taken from (backend) the tx ring.</summary>
    public long TxFrames { get; init; }
    /// <summary>Bytes of those frames.</summary>
    public long TxBytes { get; init; }
    /// <summary>Frames received from (frontend) or put on (backend) the rx ring.</summary>
    public long RxFrames { get; init; }
    /// <summary>Bytes of those frames.</summary>
    public long RxBytes { get; init; }
    /// <summary>Times a sender found the ring (or the link) full and waited.</summary>
    public long RingFullWaits { get; init; }
    /// <summary>Event-channel notifications sent to the peer.</summary>
    public long Notifications { get; init; }
    /// <summary>Drops and ignored responses, by reason.</summary>
    public IReadOnlyDictionary<NetifDropReason, long> Drops { get; init; } = new Dictionary<NetifDropReason, long>();

    /// <summary>All drops, whatever the reason.</summary>
    public long TotalDrops => Drops.Values.Sum();

    /// <summary>Drops for one reason.</summary>
    public long DropsFor(NetifDropReason reason) => Drops.TryGetValue(reason, out var n) ? n : 0;
}

/// <summary>
/// One queue's counters. Each field has one writer (the tx side or the rx side of the queue), so
/// increments are plain; readers see a value at most a batch old (netback's rx pump adds its frames
/// once per batch, before it pushes their responses).
/// </summary>
internal sealed class NetifCounters
{
    public long TxFrames;
    public long TxBytes;
    public long RxFrames;
    public long RxBytes;
    public long TxRingFullWaits;
    public long RxRingFullWaits;
    public long TxNotifications;
    public long RxNotifications;
    // Tx-side and rx-side drops are kept apart so that each array has one writer.
    public readonly long[] TxDrops = new long[DropReasons];
    public readonly long[] RxDrops = new long[DropReasons];

    public const int DropReasons = (int)NetifDropReason.Disconnected + 1;

    public static NetifStatistics Sum(IEnumerable<NetifCounters> queues)
    {
        long txf = 0, txb = 0, rxf = 0, rxb = 0, waits = 0, notes = 0;
        var drops = new long[DropReasons];
        foreach (var q in queues)
        {
            txf += Volatile.Read(ref q.TxFrames);
            txb += Volatile.Read(ref q.TxBytes);
            rxf += Volatile.Read(ref q.RxFrames);
            rxb += Volatile.Read(ref q.RxBytes);
            waits += Volatile.Read(ref q.TxRingFullWaits) + Volatile.Read(ref q.RxRingFullWaits);
            notes += Volatile.Read(ref q.TxNotifications) + Volatile.Read(ref q.RxNotifications);
            for (var i = 0; i < DropReasons; i++)
                drops[i] += Volatile.Read(ref q.TxDrops[i]) + Volatile.Read(ref q.RxDrops[i]);
        }
        var byReason = new Dictionary<NetifDropReason, long>();
        for (var i = 0; i < DropReasons; i++)
            if (drops[i] != 0)
                byReason[(NetifDropReason)i] = drops[i];
        return new NetifStatistics
        {
            TxFrames = txf, TxBytes = txb, RxFrames = rxf, RxBytes = rxb,
            RingFullWaits = waits, Notifications = notes, Drops = byReason,
        };
    }
}
