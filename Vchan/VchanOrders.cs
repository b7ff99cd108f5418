namespace Vchan;

/// <summary>
/// Ring orders: a ring of order <c>n</c> holds 2^n bytes. Orders 10 and 11 live inside the control
/// page (at 1024 and 2048); orders 12 to 20 are 2^(n-12) separately granted pages. These are the
/// rules libxenvchan applies, so a server here chooses what a C server would, and a client here
/// accepts what a C client would (and refuses a little more: grants that overlap a ring).
/// </summary>
public static class VchanOrders
{
    /// <summary>The smallest order: a 1024-byte ring at offset 1024 of the control page.</summary>
    public const int Small = 10;

    /// <summary>The in-page order 11: a 2048-byte ring at offset 2048 of the control page.</summary>
    public const int Large = 11;

    /// <summary>The first order that lives in its own granted pages (one page).</summary>
    public const int FirstPaged = 12;

    /// <summary>The largest order: a 1 MiB ring in 256 pages.</summary>
    public const int Max = 20;

    /// <summary>The largest ring, in bytes: 1 MiB.</summary>
    public const int MaxRingSize = 1 << Max;

    /// <summary>
    /// The orders a server gives its rings for requested minimum sizes, as libxenvchan's
    /// <c>libxenvchan_server_init</c> chooses them: the smallest paged order that holds each side,
    /// unless in-page rings can avoid allocating pages.
    /// </summary>
    /// <param name="leftMin">The least bytes the client-to-server ring must hold (0 for any).</param>
    /// <param name="rightMin">The least bytes the server-to-client ring must hold (0 for any).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or above 1 MiB.</exception>
    public static (int Left, int Right) Choose(int leftMin, int rightMin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leftMin);
        ArgumentOutOfRangeException.ThrowIfNegative(rightMin);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(leftMin, MaxRingSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rightMin, MaxRingSize);
        int left = PagedOrderFor(leftMin), right = PagedOrderFor(rightMin);
        const int smallSize = 1 << Small, largeSize = 1 << Large;
        if (leftMin <= smallSize && rightMin <= largeSize)
            return (Small, Large);
        if (leftMin <= largeSize && rightMin <= smallSize)
            return (Large, Small);
        if (leftMin <= largeSize)
            left = Large;
        else if (rightMin <= largeSize)
            right = Large;
        return (left, right);
    }

    /// <summary>
    /// Checks orders read from a server's control page as a client must: each within 10..20, not two
    /// equal in-page orders (they would share the same bytes), and the grant list ending before any
    /// in-page ring starts.
    /// </summary>
    /// <exception cref="VchanProtocolException">The orders are not a valid pair.</exception>
    public static void Validate(int left, int right)
    {
        if (left < Small || left > Max || right < Small || right > Max)
            throw new VchanProtocolException($"The server's ring orders ({left}, {right}) are outside {Small}..{Max}.");
        if (left == right && left < FirstPaged)
            throw new VchanProtocolException($"The server's ring orders ({left}, {right}) put both rings in the same bytes of the control page.");
        var grantsEnd = VchanControlPage.GrantsOffset + 4 * (PageCount(left) + PageCount(right));
        var limit = Math.Min(InPageLimit(left), InPageLimit(right));
        if (grantsEnd > limit)
            throw new VchanProtocolException($"The server's ring orders ({left}, {right}) need {grantsEnd - VchanControlPage.GrantsOffset} bytes of grants, which run into a ring at {limit}.");
    }

    /// <summary>The bytes a ring of <paramref name="order"/> holds.</summary>
    public static int RingSize(int order) => 1 << order;

    /// <summary>How many granted pages a ring of <paramref name="order"/> takes: none for the in-page orders.</summary>
    public static int PageCount(int order) => order >= FirstPaged ? 1 << (order - FirstPaged) : 0;

    /// <summary>Where an in-page ring of <paramref name="order"/> starts in the control page.</summary>
    internal static int InPageOffset(int order) => order == Small ? 1024 : 2048;

    private static int InPageLimit(int order) => order < FirstPaged ? InPageOffset(order) : Xen.Gnt.PageBuffer.PageSize;

    private static int PagedOrderFor(int size)
    {
        var order = FirstPaged;
        while (size > 1 << order)
            order++;
        return order;
    }
}
