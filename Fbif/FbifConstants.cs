namespace Fbif;

/// <summary>The constants and page layout of <c>xen/include/public/io/fbif.h</c> (x86-64 ABI).</summary>
public static class FbifConstants
{
    /// <summary>The Xenbus device type of a virtual framebuffer.</summary>
    public const string DeviceType = "vfb";

    /// <summary><c>XEN_IO_PROTO_ABI_X86_64</c>: the only page layout served (<c>pd[]</c> of 64-bit entries).</summary>
    public const string ProtocolX86_64 = "x86_64-abi";

    /// <summary><c>XENFB_TYPE_REFRESH_PERIOD</c> (in event).</summary>
    public const byte TypeRefreshPeriod = 1;

    /// <summary><c>XENFB_TYPE_UPDATE</c> (out event).</summary>
    public const byte TypeUpdate = 2;

    /// <summary><c>XENFB_TYPE_RESIZE</c> (out event).</summary>
    public const byte TypeResize = 3;

    /// <summary><c>XENFB_NO_REFRESH</c>: the backend needs no refresh.</summary>
    public const uint NoRefresh = 0;

    /// <summary><c>XENFB_IN_EVENT_SIZE</c> and <c>XENFB_OUT_EVENT_SIZE</c>.</summary>
    public const int EventSize = 40;

    /// <summary>Offset of <c>width</c> in <c>struct xenfb_page</c>.</summary>
    public const int WidthField = 16;

    /// <summary>Offset of <c>height</c>.</summary>
    public const int HeightField = 20;

    /// <summary>Offset of <c>line_length</c>.</summary>
    public const int LineLengthField = 24;

    /// <summary>Offset of <c>mem_length</c>.</summary>
    public const int MemLengthField = 28;

    /// <summary>Offset of <c>depth</c> (one byte).</summary>
    public const int DepthField = 32;

    /// <summary>Offset of <c>pd[]</c>, 64-bit frame numbers of the directory pages.</summary>
    public const int PageDirectoryField = 40;

    /// <summary>The entries of <c>pd[]</c>.</summary>
    public const int PageDirectoryLength = 256;

    /// <summary>Frame numbers held by one directory page (<c>PAGE_SIZE / sizeof(unsigned long)</c>).</summary>
    public const int FramesPerDirectoryPage = 4096 / sizeof(ulong);

    /// <summary>One mebibyte: <c>videoram</c> counts them.</summary>
    public const int MiB = 1 << 20;
}
