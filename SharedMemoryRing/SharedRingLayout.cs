using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharedMemoryRing;

/// <summary>
/// The layout of a <c>ring.h</c> shared ring (<c>struct *_sring</c>): four indices, private bytes,
/// padding to 64 bytes, then the entries. Every offset the rings use comes from here.
/// </summary>
public static unsafe class SharedRingLayout
{
    /// <summary>Offset of <c>req_prod</c>: the frontend's request producer index.</summary>
    public const int ReqProdOffset = 0;

    /// <summary>Offset of <c>req_event</c>: the backend asks to be notified when <c>req_prod</c> reaches it.</summary>
    public const int ReqEventOffset = 4;

    /// <summary>Offset of <c>rsp_prod</c>: the backend's response producer index.</summary>
    public const int RspProdOffset = 8;

    /// <summary>Offset of <c>rsp_event</c>: the frontend asks to be notified when <c>rsp_prod</c> reaches it.</summary>
    public const int RspEventOffset = 12;

    /// <summary>Offset of the 4 protocol-private bytes (<c>pvt</c>, e.g. netif's <c>smartpoll_active</c>).</summary>
    public const int PrivateOffset = 16;

    /// <summary>Size of the protocol-private bytes.</summary>
    public const int PrivateSize = 4;

    /// <summary>Offset of the padding (<c>__pad</c>).</summary>
    public const int PaddingOffset = 20;

    /// <summary>Size of the padding.</summary>
    public const int PaddingSize = 44;

    /// <summary>
    /// Offset of the frontend's live byte, the second-last byte of the padding. This is the project's
    /// convention, not <c>ring.h</c>'s: Xen's and Linux's drivers zero the padding and never touch it
    /// again, so a peer that does not know the convention leaves the byte alone. The frontend sets it to
    /// <see cref="LiveConnected"/> and shares the page with an unmap notification that clears it, so the
    /// backend learns when the frontend lets go of the ring or dies, as vchan's <c>cli_live</c> tells.
    /// </summary>
    public const int FrontendLiveOffset = 62;

    /// <summary>
    /// Offset of the backend's live byte, the last byte of the padding: the frontend sets it to
    /// <see cref="LiveWaiting"/>; a backend that knows the convention maps the page with an unmap
    /// notification that clears it and then sets it to <see cref="LiveConnected"/>.
    /// </summary>
    public const int BackendLiveOffset = 63;

    /// <summary>Live byte: the end has let go of the ring, or died (its unmap notification cleared the byte).</summary>
    public const byte LiveExited = 0;

    /// <summary>Live byte: the end holds the ring.</summary>
    public const byte LiveConnected = 1;

    /// <summary>Live byte (backend only): no backend that keeps the convention has attached yet.</summary>
    public const byte LiveWaiting = 2;

    /// <summary>Offset of the first entry (<c>ring[0]</c>).</summary>
    public const int EntriesOffset = 64;

    /// <summary>
    /// The size of one entry: <c>sizeof(union { req; rsp; })</c>, the larger of the two structs.
    /// </summary>
    public static int SlotSize<TRequest, TResponse>()
        where TRequest : unmanaged
        where TResponse : unmanaged =>
        Math.Max(sizeof(TRequest), sizeof(TResponse));

    /// <summary>
    /// How many entries a ring of <paramref name="ringBytes"/> bytes holds (<c>__CONST_RING_SIZE</c>):
    /// the entries that fit after the 64-byte header, rounded down to a power of two. Zero when not one fits.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the slot size is not positive.</exception>
    public static int EntriesFor(int ringBytes, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ringBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotSize);
        if (ringBytes < EntriesOffset + slotSize)
            return 0;
        return 1 << BitOperations.Log2((uint)((ringBytes - EntriesOffset) / slotSize));
    }

    /// <summary>
    /// Initialises the shared header as only the frontend does (<c>SHARED_RING_INIT</c>): both producers
    /// at <paramref name="firstIndex"/>, both events one past it, private bytes and padding zeroed.
    /// The entries are left alone.
    /// </summary>
    internal static void Initialise(byte* sring, uint firstIndex)
    {
        var header = (SharedRingHeader*)sring;
        new Span<byte>(sring + PrivateOffset, PrivateSize + PaddingSize).Clear();
        header->ReqEvent = firstIndex + 1;
        header->RspEvent = firstIndex + 1;
        header->ReqProd = firstIndex;
        // Publish the initialised header before anyone is told where the ring is.
        Volatile.Write(ref header->RspProd, firstIndex);
    }

    /// <summary>Checks a ring's memory and returns its number of entries.</summary>
    internal static uint Validate<TRequest, TResponse>(byte* ring, int length)
        where TRequest : unmanaged
        where TResponse : unmanaged
    {
        if (ring == null)
            throw new ArgumentNullException(nameof(ring));
        if (((nuint)ring & 3) != 0)
            throw new ArgumentException("A shared ring must be at least 4-byte aligned.", nameof(ring));
        var entries = EntriesFor(length, SlotSize<TRequest, TResponse>());
        if (entries == 0)
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"{length} bytes hold no {SlotSize<TRequest, TResponse>()}-byte entry after the {EntriesOffset}-byte header.");
        return (uint)entries;
    }
}

/// <summary>The shared header as a struct, so that each index is one aligned 32-bit field.</summary>
[StructLayout(LayoutKind.Explicit, Size = SharedRingLayout.EntriesOffset)]
internal struct SharedRingHeader
{
    [FieldOffset(SharedRingLayout.ReqProdOffset)] public uint ReqProd;
    [FieldOffset(SharedRingLayout.ReqEventOffset)] public uint ReqEvent;
    [FieldOffset(SharedRingLayout.RspProdOffset)] public uint RspProd;
    [FieldOffset(SharedRingLayout.RspEventOffset)] public uint RspEvent;
}
