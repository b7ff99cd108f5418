using System.Globalization;

namespace Xen.Gnt;

/// <summary>
/// A grant reference as Xen's <c>grant_ref_t</c>: the number under which a domain shares one page,
/// published out of band (usually in Xenstore) so that the named peer can map it.
/// </summary>
/// <param name="Value">The index in the granting domain's grant table.</param>
public readonly record struct GrantRef(uint Value)
{
    /// <summary>Refs below this one are reserved (<c>GNTTAB_NR_RESERVED_ENTRIES</c>); no backend hands them out.</summary>
    public const uint FirstUnreserved = 8;

    /// <summary>The reserved ref of the console page (<c>GNTTAB_RESERVED_CONSOLE</c>).</summary>
    public static GrantRef Console => new(0);

    /// <summary>The reserved ref of the Xenstore page (<c>GNTTAB_RESERVED_XENSTORE</c>).</summary>
    public static GrantRef Xenstore => new(1);

    /// <summary>Whether the ref is one of the reserved 0..7.</summary>
    public bool IsReserved => Value < FirstUnreserved;

    /// <summary>Formats the ref as Xenstore holds it: a decimal number.</summary>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a ref as Xenstore holds it.</summary>
    /// <exception cref="FormatException">The text is not a decimal 32-bit number.</exception>
    public static GrantRef Parse(string text) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? new GrantRef(value)
            : throw new FormatException($"'{text}' is not a grant reference.");
}
