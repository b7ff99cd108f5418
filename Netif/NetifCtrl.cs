using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Netif;

/// <summary>A control ring request (<c>struct xen_netif_ctrl_request</c>, 16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct NetifCtrlRequest
{
    /// <summary>Echoed in the response.</summary>
    [FieldOffset(0)] public ushort Id;

    /// <summary>What is asked.</summary>
    [FieldOffset(2)] public NetifCtrlType Type;

    /// <summary>The request's arguments; their meaning depends on <see cref="Type"/>.</summary>
    [FieldOffset(4)] public NetifCtrlData Data;
}

/// <summary>The three 32-bit arguments of a control request.</summary>
[InlineArray(3)]
public struct NetifCtrlData
{
    private uint _element0;
}

/// <summary>A control ring response (<c>struct xen_netif_ctrl_response</c>, 12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct NetifCtrlResponse
{
    /// <summary>The request's id.</summary>
    [FieldOffset(0)] public ushort Id;

    /// <summary>The request's type.</summary>
    [FieldOffset(2)] public NetifCtrlType Type;

    /// <summary>The outcome.</summary>
    [FieldOffset(4)] public NetifCtrlStatus Status;

    /// <summary>The result; its meaning depends on <see cref="Type"/>.</summary>
    [FieldOffset(8)] public uint Data;
}

/// <summary>One entry of a grant mapping request on the control ring (<c>struct xen_netif_gref</c>, 8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct NetifGref
{
    /// <summary><c>XEN_NETIF_CTRLF_GREF_readonly</c>: the <see cref="Flags"/> bit that asks for a read-only mapping.</summary>
    public const ushort ReadOnly = 1;

    /// <summary>The grant to map.</summary>
    [FieldOffset(0)] public GrantRef Ref;

    /// <summary><see cref="ReadOnly"/> to map read-only.</summary>
    [FieldOffset(4)] public ushort Flags;

    /// <summary>The outcome, a <see cref="GrantStatus"/> value.</summary>
    [FieldOffset(6)] public ushort Status;
}

/// <summary>Control request types (<c>XEN_NETIF_CTRL_TYPE_*</c>).</summary>
public enum NetifCtrlType : ushort
{
    /// <summary><c>XEN_NETIF_CTRL_TYPE_INVALID</c>.</summary>
    Invalid = 0,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS</c>.</summary>
    GetHashFlags = 1,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS</c>.</summary>
    SetHashFlags = 2,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_SET_HASH_KEY</c>.</summary>
    SetHashKey = 3,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE</c>.</summary>
    GetHashMappingSize = 4,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE</c>.</summary>
    SetHashMappingSize = 5,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING</c>.</summary>
    SetHashMapping = 6,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM</c>.</summary>
    SetHashAlgorithm = 7,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE</c>.</summary>
    GetGrefMappingSize = 8,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING</c>.</summary>
    AddGrefMapping = 9,
    /// <summary><c>XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING</c>.</summary>
    DelGrefMapping = 10,
}

/// <summary>Control response statuses (<c>XEN_NETIF_CTRL_STATUS_*</c>).</summary>
public enum NetifCtrlStatus : uint
{
    /// <summary><c>XEN_NETIF_CTRL_STATUS_SUCCESS</c>.</summary>
    Success = 0,
    /// <summary><c>XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED</c>.</summary>
    NotSupported = 1,
    /// <summary><c>XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER</c>.</summary>
    InvalidParameter = 2,
    /// <summary><c>XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW</c>.</summary>
    BufferOverflow = 3,
}
