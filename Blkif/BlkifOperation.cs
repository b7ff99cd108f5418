namespace Blkif;

/// <summary>Request operations (<c>BLKIF_OP_*</c>).</summary>
public enum BlkifOperation : byte
{
    /// <summary><c>BLKIF_OP_READ</c>: read sectors into the segments.</summary>
    Read = 0,
    /// <summary><c>BLKIF_OP_WRITE</c>: write the segments to sectors.</summary>
    Write = 1,
    /// <summary><c>BLKIF_OP_WRITE_BARRIER</c>: a write ordered after every earlier one (<c>feature-barrier</c>).</summary>
    WriteBarrier = 2,
    /// <summary><c>BLKIF_OP_FLUSH_DISKCACHE</c>: flush the disk's write cache (<c>feature-flush-cache</c>).</summary>
    FlushDiskcache = 3,
    /// <summary><c>BLKIF_OP_RESERVED_1</c>: reserved, never to be used.</summary>
    Reserved1 = 4,
    /// <summary><c>BLKIF_OP_DISCARD</c>: discard sectors; the request is a <see cref="BlkifRequestDiscard"/> (<c>feature-discard</c>).</summary>
    Discard = 5,
    /// <summary><c>BLKIF_OP_INDIRECT</c>: segments in indirect pages; the request is a <see cref="BlkifRequestIndirect"/>.</summary>
    Indirect = 6,
}

/// <summary>Response statuses (<c>BLKIF_RSP_*</c>).</summary>
public enum BlkifStatus : short
{
    /// <summary><c>BLKIF_RSP_EOPNOTSUPP</c>: the operation is not supported.</summary>
    EOpNotSupp = -2,
    /// <summary><c>BLKIF_RSP_ERROR</c>: the operation failed.</summary>
    Error = -1,
    /// <summary><c>BLKIF_RSP_OKAY</c>: the operation succeeded.</summary>
    Okay = 0,
}

/// <summary>Flags of a discard request.</summary>
[Flags]
public enum BlkifDiscardFlags : byte
{
    /// <summary>A plain discard.</summary>
    None = 0,
    /// <summary><c>BLKIF_DISCARD_SECURE</c>: erase securely; ignored unless the backend offers <c>discard-secure</c>.</summary>
    Secure = 1 << 0,
}

/// <summary>The backend's <c>info</c> key: what kind of disk this is (<c>VDISK_*</c>).</summary>
[Flags]
public enum VdiskInfo : uint
{
    /// <summary>A plain writable disk.</summary>
    None = 0,
    /// <summary><c>VDISK_CDROM</c>: a CD-ROM.</summary>
    Cdrom = 0x1,
    /// <summary><c>VDISK_REMOVABLE</c>: removable media.</summary>
    Removable = 0x2,
    /// <summary><c>VDISK_READONLY</c>: read-only.</summary>
    ReadOnly = 0x4,
}
