using System.Runtime.InteropServices;

namespace SharedMemoryRing;

/// <summary>
/// The private state of one end of a shared ring, with a cache line of padding on each side: the
/// two ends are driven by different threads, and if their counters shared a cache line, every
/// request would bounce it between the cores.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * 64)]
internal unsafe struct RingCursor
{
    [FieldOffset(64)] public SharedRingHeader* Header;
    [FieldOffset(72)] public byte* Entries;
    [FieldOffset(80)] public uint Size;
    // The private producer index: req_prod_pvt on a front, rsp_prod_pvt on a back.
    [FieldOffset(84)] public uint Producer;
    // The consumer index: rsp_cons on a front, req_cons on a back.
    [FieldOffset(88)] public uint Consumer;
    // The last producer index read from the peer and checked: entries up to it are consumed
    // without touching the shared header again.
    [FieldOffset(92)] public uint Seen;
    // The producer index as last published to the shared header. Kept here so that a push writes
    // the header's cache line without first reading it (the peer writes that line too).
    [FieldOffset(96)] public uint Published;
    // Non-zero once this end keeps the live-byte convention and watches the peer's byte.
    [FieldOffset(100)] public byte Watching;
}
