namespace Xen.Gnt;

/// <summary>The status codes of grant-table operations, <c>GNTST_*</c> in Xen's <c>grant_table.h</c>.</summary>
public enum GrantStatus : short
{
    /// <summary><c>GNTST_okay</c>: the operation succeeded.</summary>
    Okay = 0,
    /// <summary><c>GNTST_general_error</c>: the operation failed for another reason.</summary>
    GeneralError = -1,
    /// <summary><c>GNTST_bad_domain</c>: the domain does not exist or may not be named.</summary>
    BadDomain = -2,
    /// <summary><c>GNTST_bad_gntref</c>: the grant ref is unknown, reserved or no longer granted.</summary>
    BadGntref = -3,
    /// <summary><c>GNTST_bad_handle</c>: the mapping handle is unknown.</summary>
    BadHandle = -4,
    /// <summary><c>GNTST_bad_virt_addr</c>: the virtual address is bad.</summary>
    BadVirtAddr = -5,
    /// <summary><c>GNTST_bad_dev_addr</c>: the device address is bad.</summary>
    BadDevAddr = -6,
    /// <summary><c>GNTST_no_device_space</c>: no room to map another grant.</summary>
    NoDeviceSpace = -7,
    /// <summary><c>GNTST_permission_denied</c>: the grant names another domain, or is read-only and a writable map was asked for.</summary>
    PermissionDenied = -8,
    /// <summary><c>GNTST_bad_page</c>: the page is bad.</summary>
    BadPage = -9,
    /// <summary><c>GNTST_bad_copy_arg</c>: a copy's arguments cross a page.</summary>
    BadCopyArg = -10,
    /// <summary><c>GNTST_address_too_big</c>: the address is too big.</summary>
    AddressTooBig = -11,
    /// <summary><c>GNTST_eagain</c>: try again later.</summary>
    Eagain = -12,
    /// <summary><c>GNTST_no_space</c>: the grant table or the backing store is full.</summary>
    NoSpace = -13,
}
