using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>The console page (<c>struct xencons_interface</c> in <c>io/console.h</c>).</summary>
public static class ConsoleRingLayout
{
    /// <summary>Offset of <c>in</c>: bytes typed into the guest's console.</summary>
    public const int InOffset = 0;

    /// <summary>Size of <c>in</c>.</summary>
    public const int InSize = 1024;

    /// <summary>Offset of <c>out</c>: bytes the guest prints.</summary>
    public const int OutOffset = 1024;

    /// <summary>Size of <c>out</c>.</summary>
    public const int OutSize = 2048;

    /// <summary>Offset of <c>in_cons</c>.</summary>
    public const int InConsOffset = 3072;

    /// <summary>Offset of <c>in_prod</c>.</summary>
    public const int InProdOffset = 3076;

    /// <summary>Offset of <c>out_cons</c>.</summary>
    public const int OutConsOffset = 3080;

    /// <summary>Offset of <c>out_prod</c>.</summary>
    public const int OutProdOffset = 3084;

    /// <summary>The size of the structure (<c>sizeof(struct xencons_interface)</c>).</summary>
    public const int Size = 3088;
}

/// <summary>
/// A console page in shared memory: the console daemon writes <see cref="In"/> and reads <see cref="Out"/>;
/// the guest does the opposite. Notify the peer after every call that moved bytes.
/// </summary>
public readonly unsafe struct ConsolePage
{
    private readonly byte* _page;

    /// <summary>Describes the console page at <paramref name="page"/>, which holds at least
    /// <see cref="ConsoleRingLayout.Size"/> bytes, 4-byte aligned.</summary>
    public ConsolePage(byte* page)
    {
        if (page == null)
            throw new ArgumentNullException(nameof(page));
        if (((nuint)page & 3) != 0)
            throw new ArgumentException("The console page must be 4-byte aligned.", nameof(page));
        _page = page;
    }

    /// <summary>Describes the console page at the start of <paramref name="pages"/>, which must outlive it.</summary>
    public ConsolePage(PageBuffer pages) : this(XenstorePage.Writable(pages).Pointer)
    {
    }

    /// <summary>The input ring: console to guest.</summary>
    public ByteRing In => new(_page + ConsoleRingLayout.InOffset, ConsoleRingLayout.InSize,
        (uint*)(_page + ConsoleRingLayout.InConsOffset), (uint*)(_page + ConsoleRingLayout.InProdOffset));

    /// <summary>The output ring: guest to console.</summary>
    public ByteRing Out => new(_page + ConsoleRingLayout.OutOffset, ConsoleRingLayout.OutSize,
        (uint*)(_page + ConsoleRingLayout.OutConsOffset), (uint*)(_page + ConsoleRingLayout.OutProdOffset));
}
