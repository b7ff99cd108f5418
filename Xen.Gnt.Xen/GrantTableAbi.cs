namespace Xen.Gnt.Xen;

/// <summary>
/// The numbers of Xen's grant-table ABI (<c>grant_table.h</c>), under the header's own names so that
/// they can be checked against it.
/// </summary>
public static class GrantTableAbi
{
    /// <summary><c>__HYPERVISOR_grant_table_op</c>: the hypercall that takes a <c>GNTTABOP_*</c> command.</summary>
    public const int HYPERVISOR_grant_table_op = 20;

    /// <summary><c>GNTTABOP_map_grant_ref</c>: map peers' grants (<see cref="GnttabMapGrantRef"/>).</summary>
    public const int GNTTABOP_map_grant_ref = 0;
    /// <summary><c>GNTTABOP_unmap_grant_ref</c>: undo a map (<see cref="GnttabUnmapGrantRef"/>).</summary>
    public const int GNTTABOP_unmap_grant_ref = 1;
    /// <summary><c>GNTTABOP_setup_table</c>: size the caller's grant table and learn its frames (<see cref="GnttabSetupTable"/>).</summary>
    public const int GNTTABOP_setup_table = 2;

    /// <summary><c>GTF_invalid</c>: the entry grants nothing.</summary>
    public const ushort GTF_invalid = 0;
    /// <summary><c>GTF_permit_access</c>: the entry lets <c>domid</c> map <c>frame</c>.</summary>
    public const ushort GTF_permit_access = 1 << 0;
    /// <summary><c>GTF_type_mask</c>: the bits that hold the entry's type.</summary>
    public const ushort GTF_type_mask = 3 << 0;
    /// <summary><c>GTF_readonly</c>: the grantee may only map the frame read-only.</summary>
    public const ushort GTF_readonly = 1 << 2;
    /// <summary><c>GTF_reading</c>: set by Xen while the grantee maps the frame.</summary>
    public const ushort GTF_reading = 1 << 3;
    /// <summary><c>GTF_writing</c>: set by Xen while the grantee maps the frame writable.</summary>
    public const ushort GTF_writing = 1 << 4;

    /// <summary><c>GNTMAP_device_map</c>: map for device access.</summary>
    public const uint GNTMAP_device_map = 1 << 0;
    /// <summary><c>GNTMAP_host_map</c>: map at <c>host_addr</c> for the CPU.</summary>
    public const uint GNTMAP_host_map = 1 << 1;
    /// <summary><c>GNTMAP_readonly</c>: map read-only.</summary>
    public const uint GNTMAP_readonly = 1 << 2;

    /// <summary><c>GNTTAB_NR_RESERVED_ENTRIES</c>: refs below this are kept for the toolstack.</summary>
    public const int GNTTAB_NR_RESERVED_ENTRIES = 8;

    /// <summary>How many <see cref="GrantEntryV1"/> fit in one 4096-byte grant-table frame.</summary>
    public const int EntriesPerFrame = 4096 / 8;

    /// <summary><c>DOMID_SELF</c>: names the calling domain in hypercall arguments.</summary>
    public const ushort DOMID_SELF = 0x7FF0;

    /// <summary><c>DOMID_FIRST_RESERVED</c>: domain ids from here up name no ordinary domain.</summary>
    public const ushort DOMID_FIRST_RESERVED = 0x7FF0;
}
