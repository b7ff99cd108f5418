namespace Xen.Store;

/// <summary>Path rules of the protocol: the allowed characters, no empty or doubled segments, the length limits, and relative paths under a domain's home.</summary>
internal static class XsPath
{
    /// <summary>The absolute form of <paramref name="path"/> for <paramref name="domain"/>, or null when it breaks the rules.</summary>
    public static string? Canonical(string path, ushort domain)
    {
        if (path.Length == 0)
            return null;
        if (path[0] != '/')
        {
            if (path.Length > XsWire.RelPathMax || !ValidSegments(path))
                return null;
            path = XsWire.DomainPath(domain) + "/" + path;
        }
        else if (path.Length > 1 && !ValidSegments(path.AsSpan(1)))
        {
            return null;
        }
        return path.Length > XsWire.AbsPathMax || path.Length - HomePrefixLength(path) > XsWire.RelPathMax ? null : path;
    }

    /// <summary>
    /// The length of a leading <c>/local/domain/&lt;id&gt;/</c>, else 0. Like Xen's C daemon, the length limit
    /// counts what follows a domain's home, for every path and every domain (dom0 too): 2048 bytes.
    /// </summary>
    private static int HomePrefixLength(string path)
    {
        const string Domains = "/local/domain/";
        if (!path.StartsWith(Domains, StringComparison.Ordinal))
            return 0;
        var i = Domains.Length;
        while (i < path.Length && i - Domains.Length < 5 && char.IsAsciiDigit(path[i]))
            i++;
        return i > Domains.Length && i < path.Length && path[i] == '/' ? i + 1 : 0;
    }

    /// <summary>The absolute form of a watch path: a path, or a special <c>@name</c>.</summary>
    public static string? CanonicalWatch(string path, ushort domain) =>
        path.StartsWith('@') ? (path.Length <= XsWire.AbsPathMax && ValidChars(path) ? path : null) : Canonical(path, domain);

    /// <summary>Whether <paramref name="child"/> is <paramref name="parent"/> or lies below it.</summary>
    public static bool IsAtOrBelow(string child, string parent) =>
        parent == "/" || (child.StartsWith(parent, StringComparison.Ordinal) && (child.Length == parent.Length || child[parent.Length] == '/'));

    /// <summary>The parent of an absolute path other than the root.</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash == 0 ? "/" : path[..slash];
    }

    /// <summary>The segments of an absolute path; none for the root.</summary>
    public static string[] Segments(string path) =>
        path == "/" ? [] : path[1..].Split('/');

    private static bool ValidSegments(ReadOnlySpan<char> path)
    {
        if (path.Length == 0 || path[0] == '/' || path[^1] == '/' || path.Contains("//", StringComparison.Ordinal))
            return false;
        return ValidChars(path);
    }

    private static bool ValidChars(ReadOnlySpan<char> path)
    {
        foreach (var c in path)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '/' or '_' or '@'))
                return false;
        }
        return true;
    }
}
