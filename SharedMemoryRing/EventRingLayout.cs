namespace SharedMemoryRing;

/// <summary>
/// A ring of fixed-size events in one shared page, as the PV framebuffer and keyboard use
/// (<c>io/fbif.h</c>, <c>io/kbdif.h</c>): free-running 32-bit <c>cons</c> and <c>prod</c> indices, and
/// slot <c>index % Length</c>. The length is not a power of two (1024 / 40 = 25), so indices are
/// compared by difference, never masked.
/// </summary>
/// <param name="ConsOffset">Where the consumer's index lives in the page.</param>
/// <param name="ProdOffset">Where the producer's index lives.</param>
/// <param name="RingOffset">Where the slots start.</param>
/// <param name="RingSize">The bytes given to the slots.</param>
/// <param name="EventSize">The size of one event.</param>
public readonly record struct EventRingLayout(int ConsOffset, int ProdOffset, int RingOffset, int RingSize, int EventSize)
{
    /// <summary>The number of slots.</summary>
    public int Length => RingSize / EventSize;

    /// <summary><c>XENFB_IN_RING</c>: backend to frontend (refresh period); <c>in_cons</c>, <c>in_prod</c> at 0 and 4.</summary>
    public static EventRingLayout FramebufferIn => new(0, 4, 1024, 1024, 40);

    /// <summary><c>XENFB_OUT_RING</c>: frontend to backend (update, resize); <c>out_cons</c>, <c>out_prod</c> at 8 and 12.</summary>
    public static EventRingLayout FramebufferOut => new(8, 12, 2048, 2048, 40);

    /// <summary><c>XENKBD_IN_RING</c>: backend to frontend (keys, motion, position).</summary>
    public static EventRingLayout KeyboardIn => new(0, 4, 1024, 2048, 40);

    /// <summary><c>XENKBD_OUT_RING</c>: frontend to backend (no event is defined yet).</summary>
    public static EventRingLayout KeyboardOut => new(8, 12, 3072, 1024, 40);

    /// <summary>The offset of the slot for <paramref name="index"/>.</summary>
    internal int SlotOffset(uint index) => RingOffset + (int)(index % (uint)Length) * EventSize;
}
