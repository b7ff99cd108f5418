namespace Blkif;

/// <summary>
/// What a blkback publishes before the frontend connects (the backend keys of <c>blkif.h</c>): the
/// disk's geometry and the features the backend offers. Through Xenstore these are the keys under
/// <c>backend/vbd/&lt;frontend&gt;/&lt;device&gt;/</c>; without it, hand the record to the frontend.
/// </summary>
public sealed record BlkifBackendInfo
{
    /// <summary>
    /// <c>sectors</c>: the disk's size in 512-byte units, whatever <see cref="SectorSize"/> is. Current
    /// <c>blkif.h</c> says so, and Linux's blkfront hands the value to <c>set_capacity</c> as it is;
    /// a 4096-byte-sector disk of 1 MiB is 2048 sectors, not 256.
    /// </summary>
    public required ulong Sectors { get; init; }

    /// <summary><c>sector-size</c>: the logical sector size, 512 or 4096. Ring sector numbers stay in 512-byte units.</summary>
    public int SectorSize { get; init; } = BlkifConstants.SectorSize;

    /// <summary><c>physical-sector-size</c>.</summary>
    public int PhysicalSectorSize { get; init; } = BlkifConstants.SectorSize;

    /// <summary><c>info</c>: the <c>VDISK_*</c> bits; <see cref="VdiskInfo.ReadOnly"/> for a read-only disk.</summary>
    public VdiskInfo Info { get; init; }

    /// <summary>Whether the disk is read-only (<c>mode</c> = <c>r</c>).</summary>
    public bool ReadOnly => (Info & VdiskInfo.ReadOnly) != 0;

    /// <summary><c>feature-flush-cache</c>.</summary>
    public bool FeatureFlushCache { get; init; }

    /// <summary><c>feature-barrier</c>.</summary>
    public bool FeatureBarrier { get; init; }

    /// <summary><c>feature-discard</c>.</summary>
    public bool FeatureDiscard { get; init; }

    /// <summary><c>discard-granularity</c> in bytes.</summary>
    public uint DiscardGranularity { get; init; }

    /// <summary><c>discard-alignment</c> in bytes.</summary>
    public uint DiscardAlignment { get; init; }

    /// <summary><c>discard-secure</c>.</summary>
    public bool DiscardSecure { get; init; }

    /// <summary><c>feature-persistent</c>: the backend keeps the frontend's grants mapped.</summary>
    public bool FeaturePersistent { get; init; }

    /// <summary><c>feature-max-indirect-segments</c>; 0 when indirect requests are not offered.</summary>
    public int MaxIndirectSegments { get; init; }

    /// <summary><c>max-ring-page-order</c>: rings of up to 2^order pages.</summary>
    public int MaxRingPageOrder { get; init; }

    /// <summary><c>multi-queue-max-queues</c>: how many rings the frontend may use.</summary>
    public int MaxQueues { get; init; } = 1;

    /// <summary>The disk's size in bytes.</summary>
    public long Length => checked((long)Sectors * BlkifConstants.SectorSize);

    /// <summary>Checks what a (possibly hostile or broken) backend published.</summary>
    /// <exception cref="InvalidDataException">A value is out of the protocol's range.</exception>
    public void Validate()
    {
        if (SectorSize is not (512 or 4096))
            throw new InvalidDataException($"sector-size {SectorSize} is not 512 or 4096.");
        if (PhysicalSectorSize < SectorSize || PhysicalSectorSize % SectorSize != 0)
            throw new InvalidDataException($"physical-sector-size {PhysicalSectorSize} is not a multiple of sector-size {SectorSize}.");
        if (Sectors == 0 || Sectors > long.MaxValue / BlkifConstants.SectorSize)
            throw new InvalidDataException($"sectors {Sectors} is not a usable disk size.");
        if (Sectors % (ulong)(SectorSize / BlkifConstants.SectorSize) != 0)
            throw new InvalidDataException($"sectors {Sectors} (512-byte units) is not a whole number of {SectorSize}-byte sectors.");
        if (MaxRingPageOrder is < 0 or > BlkifLimits.MaxRingPageOrder)
            throw new InvalidDataException($"max-ring-page-order {MaxRingPageOrder} is not 0 to {BlkifLimits.MaxRingPageOrder}.");
        if (MaxQueues < 1)
            throw new InvalidDataException($"multi-queue-max-queues {MaxQueues} is not positive.");
        if (MaxIndirectSegments < 0)
            throw new InvalidDataException($"feature-max-indirect-segments {MaxIndirectSegments} is negative.");
        if (FeatureDiscard && DiscardGranularity != 0 && DiscardGranularity % SectorSize != 0)
            throw new InvalidDataException($"discard-granularity {DiscardGranularity} is not a multiple of sector-size {SectorSize}.");
        // The wire carries a uint; a frontend hands the granularity on as a byte count in an int.
        if (FeatureDiscard && DiscardGranularity > int.MaxValue)
            throw new InvalidDataException($"discard-granularity {DiscardGranularity} is 2 GiB or more.");
    }
}
