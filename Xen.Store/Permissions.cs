using System.Collections.Immutable;
using System.Globalization;

namespace Xen.Store;

/// <summary>What one permission entry grants: the letters <c>n</c>, <c>r</c>, <c>w</c>, <c>b</c> of the wire.</summary>
[Flags]
public enum XsAccess
{
    /// <summary><c>n</c>: no access.</summary>
    None = 0,
    /// <summary><c>r</c>: read.</summary>
    Read = 1,
    /// <summary><c>w</c>: write.</summary>
    Write = 2,
    /// <summary><c>b</c>: both read and write.</summary>
    Both = Read | Write,
}

/// <summary>One permission entry: a domain and what it may do, written <c>r5</c> on the wire.</summary>
/// <param name="Domain">The domain the entry names.</param>
/// <param name="Access">What it may do.</param>
public readonly record struct XsPermission(ushort Domain, XsAccess Access)
{
    /// <summary>The wire form, e.g. <c>b3</c>.</summary>
    public override string ToString() => Letter(Access) + Domain.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses <c>r5</c>, <c>w0</c>, <c>b3</c> or <c>n7</c>.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out XsPermission permission)
    {
        permission = default;
        if (text.Length < 2)
            return false;
        XsAccess access;
        switch (text[0])
        {
            case 'n': access = XsAccess.None; break;
            case 'r': access = XsAccess.Read; break;
            case 'w': access = XsAccess.Write; break;
            case 'b': access = XsAccess.Both; break;
            default: return false;
        }
        foreach (var c in text[1..])
        {
            if (c is < '0' or > '9')
                return false;
        }
        if (!ushort.TryParse(text[1..], NumberStyles.None, CultureInfo.InvariantCulture, out var domain))
            return false;
        permission = new XsPermission(domain, access);
        return true;
    }

    private static string Letter(XsAccess access) => access switch
    {
        XsAccess.Read => "r",
        XsAccess.Write => "w",
        XsAccess.Both => "b",
        _ => "n",
    };
}

/// <summary>
/// A node's permissions: the first entry names the owner (who may do anything) and what every
/// domain not listed may do; later entries grant named domains their own access.
/// </summary>
public sealed class XsPermissions : IEquatable<XsPermissions>
{
    private XsPermissions(ImmutableArray<XsPermission> entries) => Entries = entries;

    /// <summary>The entries, owner first.</summary>
    public ImmutableArray<XsPermission> Entries { get; }

    /// <summary>The owning domain.</summary>
    public ushort Owner => Entries[0].Domain;

    /// <summary>Permissions owned by <paramref name="owner"/> that give every other domain <paramref name="others"/>, plus <paramref name="grants"/>.</summary>
    public static XsPermissions Create(ushort owner, XsAccess others = XsAccess.None, params ReadOnlySpan<XsPermission> grants)
    {
        var builder = ImmutableArray.CreateBuilder<XsPermission>(1 + grants.Length);
        builder.Add(new XsPermission(owner, others));
        builder.AddRange(grants);
        return new XsPermissions(builder.MoveToImmutable());
    }

    /// <summary>Permissions from entries, owner first; there must be at least one.</summary>
    public static XsPermissions FromEntries(IEnumerable<XsPermission> entries)
    {
        var array = entries.ToImmutableArray();
        if (array.IsEmpty)
            throw new ArgumentException("Permissions need at least the owner's entry.", nameof(entries));
        return new XsPermissions(array);
    }

    /// <summary>The same permissions with another owner.</summary>
    public XsPermissions WithOwner(ushort owner) =>
        owner == Owner ? this : new XsPermissions(Entries.SetItem(0, Entries[0] with { Domain = owner }));

    /// <summary>
    /// What <paramref name="domain"/> may do: everything for dom0, the owner and a domain whose
    /// target is the owner; otherwise its own entry, else the first entry's access.
    /// </summary>
    public XsAccess AccessOf(ushort domain, ushort? target = null)
    {
        if (domain == 0 || domain == Owner || (target is { } t && t == Owner))
            return XsAccess.Both;
        for (var i = 1; i < Entries.Length; i++)
        {
            if (Entries[i].Domain == domain)
                return Entries[i].Access;
        }
        if (target is { } tt)
        {
            for (var i = 1; i < Entries.Length; i++)
            {
                if (Entries[i].Domain == tt)
                    return Entries[i].Access;
            }
        }
        return Entries[0].Access;
    }

    /// <summary>Parses the wire form: entries each followed by a NUL.</summary>
    /// <returns>The permissions, or null when an entry is malformed or there is none.</returns>
    public static XsPermissions? Parse(IReadOnlyList<string> entries)
    {
        if (entries.Count == 0)
            return null;
        var builder = ImmutableArray.CreateBuilder<XsPermission>(entries.Count);
        foreach (var e in entries)
        {
            if (!XsPermission.TryParse(e, out var p))
                return null;
            builder.Add(p);
        }
        return new XsPermissions(builder.MoveToImmutable());
    }

    /// <summary>The wire form, e.g. <c>w0 r1</c> with NULs instead of spaces.</summary>
    public override string ToString() => string.Join(' ', Entries);

    /// <inheritdoc/>
    public bool Equals(XsPermissions? other) => other is not null && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as XsPermissions);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var e in Entries)
            hash.Add(e);
        return hash.ToHashCode();
    }
}
