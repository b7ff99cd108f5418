namespace Blkif;

/// <summary>Limits of this implementation of the protocol, and protocol names it uses.</summary>
public static class BlkifLimits
{
    /// <summary>The largest ring either side uses: 2^4 = 16 pages, 512 entries.</summary>
    public const int MaxRingPageOrder = 4;

    /// <summary>The most indirect segments a request may carry: 8 indirect pages of 512 segments.</summary>
    public const int MaxIndirectSegments = BlkifConstants.MaxIndirectPagesPerRequest * BlkifConstants.SegmentsPerIndirectFrame;

    /// <summary><c>XEN_IO_PROTO_ABI_X86_64</c>, the only ring ABI spoken here.</summary>
    public const string ProtocolX86_64 = "x86_64-abi";

    /// <summary>
    /// Spin rounds before a ring waiter sleeps on its event channel: a <see cref="SpinWait"/> spins
    /// without yielding for its first 10 rounds, and yielding on a loaded machine costs a whole time
    /// slice, far more than the event it was meant to save.
    /// </summary>
    public const int DefaultSpinCount = 10;

    /// <summary>Sectors of 512 bytes in a page.</summary>
    internal const int SectorsPerPage = 4096 / BlkifConstants.SectorSize;
}
