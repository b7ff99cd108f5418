namespace Netif;

/// <summary>Flags of a tx request (<c>NETTXF_*</c>).</summary>
[Flags]
public enum NetifTxFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>NETTXF_csum_blank</c>: the protocol checksum field is blank; the packet is not yet checksummed.</summary>
    CsumBlank = 1 << 0,
    /// <summary><c>NETTXF_data_validated</c>: the packet data has been validated against the protocol checksum.</summary>
    DataValidated = 1 << 1,
    /// <summary><c>NETTXF_more_data</c>: the packet continues in the next request.</summary>
    MoreData = 1 << 2,
    /// <summary><c>NETTXF_extra_info</c>: an extra-info slot follows this request.</summary>
    ExtraInfo = 1 << 3,
}
