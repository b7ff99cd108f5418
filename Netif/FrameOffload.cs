namespace Netif;

/// <summary>What is known of a frame's protocol checksum, as the tx and rx flags carry it.</summary>
public enum FrameChecksum : byte
{
    /// <summary>Nothing: the checksum is in the frame and has not been checked.</summary>
    None = 0,

    /// <summary>The data has been validated against the checksum (<c>data_validated</c>).</summary>
    Validated = 1,

    /// <summary>The checksum field is blank and still to be computed (<c>csum_blank</c>, which
    /// implies <c>data_validated</c>): the sender trusts the data.</summary>
    Blank = 2,
}

/// <summary>
/// The offloads that travel with a frame: checksum state and, for a large TCP frame to be cut into
/// segments, the GSO kind and segment size (an extra-info slot on the ring).
/// </summary>
/// <param name="Checksum">The checksum state.</param>
/// <param name="GsoType">The segmentation offload, or <see cref="NetifGsoType.None"/>.</param>
/// <param name="GsoSize">The segment payload size (MSS); non-zero with a GSO type.</param>
public readonly record struct FrameOffload(FrameChecksum Checksum = FrameChecksum.None, NetifGsoType GsoType = NetifGsoType.None, ushort GsoSize = 0)
{
    /// <summary>No offload.</summary>
    public static FrameOffload None => default;

    /// <summary>Whether the frame carries a GSO extra-info slot.</summary>
    public bool IsGso => GsoType != NetifGsoType.None;
}

/// <summary>A frame copied out of the receive ring: its length in the caller's buffer and its offloads.</summary>
/// <param name="Length">Bytes written to the caller's buffer.</param>
/// <param name="Offload">The offloads the sender flagged.</param>
public readonly record struct ReceivedFrame(int Length, FrameOffload Offload);
