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
    /// Spin rounds before a blkfront's ring waiter sleeps on its event channel (a blkback's does not spin
    /// by default, see <see cref="BlkbackOptions.SpinCount"/>): a <see cref="SpinWait"/> spins
    /// for its first 10 rounds and yields the core for the next 10. A blkback pushes responses at
    /// least every 10 µs while it serves (see <c>BlkbackQueue</c>), so a frontend that spins this long
    /// usually finds the next push without sleeping: 4 KiB reads at queue depth 32 went from about
    /// 45% to about 80% of <c>pread</c> with 20 rounds (BENCHMARKS.md). The yields hand the core to a
    /// peer that is runnable, which on a loaded machine is what the waiter wants.
    /// </summary>
    public const int DefaultSpinCount = 20;

    /// <summary>Sectors of 512 bytes in a page.</summary>
    internal const int SectorsPerPage = 4096 / BlkifConstants.SectorSize;
}
