using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>The Xenstore page (<c>struct xenstore_domain_interface</c> in <c>io/xs_wire.h</c>).</summary>
public static class XenstoreRingLayout
{
    /// <summary>Size of each ring (<c>XENSTORE_RING_SIZE</c>).</summary>
    public const int RingSize = 1024;

    /// <summary>Offset of <c>req</c>: requests from the guest to the Xenstore server.</summary>
    public const int RequestOffset = 0;

    /// <summary>Offset of <c>rsp</c>: replies and watch events from the server.</summary>
    public const int ResponseOffset = 1024;

    /// <summary>Offset of <c>req_cons</c>.</summary>
    public const int ReqConsOffset = 2048;

    /// <summary>Offset of <c>req_prod</c>.</summary>
    public const int ReqProdOffset = 2052;

    /// <summary>Offset of <c>rsp_cons</c>.</summary>
    public const int RspConsOffset = 2056;

    /// <summary>Offset of <c>rsp_prod</c>.</summary>
    public const int RspProdOffset = 2060;

    /// <summary>Offset of <c>server_features</c>.</summary>
    public const int ServerFeaturesOffset = 2064;

    /// <summary>Offset of <c>connection</c>.</summary>
    public const int ConnectionOffset = 2068;

    /// <summary>Offset of <c>error</c>.</summary>
    public const int ErrorOffset = 2072;

    /// <summary>The size of the structure (<c>sizeof(struct xenstore_domain_interface)</c>).</summary>
    public const int Size = 2076;
}

/// <summary>
/// A Xenstore page in shared memory: the guest writes <see cref="Requests"/> and reads
/// <see cref="Responses"/>; the server does the opposite. Neither ring has an event index: notify the
/// peer after every call that moved bytes.
/// </summary>
public readonly unsafe struct XenstorePage
{
    private readonly byte* _page;

    /// <summary>Describes the Xenstore page at <paramref name="page"/>, which holds at least
    /// <see cref="XenstoreRingLayout.Size"/> bytes, 4-byte aligned.</summary>
    public XenstorePage(byte* page)
    {
        if (page == null)
            throw new ArgumentNullException(nameof(page));
        if (((nuint)page & 3) != 0)
            throw new ArgumentException("The Xenstore page must be 4-byte aligned.", nameof(page));
        _page = page;
    }

    /// <summary>Describes the Xenstore page at the start of <paramref name="pages"/>, which must outlive it.</summary>
    public XenstorePage(PageBuffer pages) : this(Writable(pages).Pointer)
    {
    }

    /// <summary>The request ring: guest to server.</summary>
    public ByteRing Requests => new(_page + XenstoreRingLayout.RequestOffset, XenstoreRingLayout.RingSize,
        (uint*)(_page + XenstoreRingLayout.ReqConsOffset), (uint*)(_page + XenstoreRingLayout.ReqProdOffset));

    /// <summary>The response ring: server to guest, replies and watch events.</summary>
    public ByteRing Responses => new(_page + XenstoreRingLayout.ResponseOffset, XenstoreRingLayout.RingSize,
        (uint*)(_page + XenstoreRingLayout.RspConsOffset), (uint*)(_page + XenstoreRingLayout.RspProdOffset));

    /// <summary>The features the server supports (<c>server_features</c>, a bitmap).</summary>
    public uint ServerFeatures
    {
        get => Volatile.Read(ref *(uint*)(_page + XenstoreRingLayout.ServerFeaturesOffset));
        set => Volatile.Write(ref *(uint*)(_page + XenstoreRingLayout.ServerFeaturesOffset), value);
    }

    /// <summary>The connection state (<c>connection</c>: 0 connected, 1 reconnecting).</summary>
    public uint Connection
    {
        get => Volatile.Read(ref *(uint*)(_page + XenstoreRingLayout.ConnectionOffset));
        set => Volatile.Write(ref *(uint*)(_page + XenstoreRingLayout.ConnectionOffset), value);
    }

    /// <summary>The error the server reports (<c>error</c>: 0 none).</summary>
    public uint Error
    {
        get => Volatile.Read(ref *(uint*)(_page + XenstoreRingLayout.ErrorOffset));
        set => Volatile.Write(ref *(uint*)(_page + XenstoreRingLayout.ErrorOffset), value);
    }

    internal static PageBuffer Writable(PageBuffer pages)
    {
        ArgumentNullException.ThrowIfNull(pages);
        return pages.Writable ? pages : throw new ArgumentException("A shared ring page must be writable.", nameof(pages));
    }
}
