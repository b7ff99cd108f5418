namespace Netif;

/// <summary>Flags of an rx response (<c>NETRXF_*</c>).</summary>
[Flags]
public enum NetifRxFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>NETRXF_data_validated</c>: the packet data has been validated against the protocol checksum.</summary>
    DataValidated = 1 << 0,
    /// <summary><c>NETRXF_csum_blank</c>: the protocol checksum field is blank.</summary>
    CsumBlank = 1 << 1,
    /// <summary><c>NETRXF_more_data</c>: the packet continues in the next response.</summary>
    MoreData = 1 << 2,
    /// <summary><c>NETRXF_extra_info</c>: an extra-info slot follows this response.</summary>
    ExtraInfo = 1 << 3,
    /// <summary><c>NETRXF_gso_prefix</c>: this response is a GSO prefix, not packet data.</summary>
    GsoPrefix = 1 << 4,
}
