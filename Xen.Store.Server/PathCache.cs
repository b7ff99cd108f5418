namespace Xen.Store.Server;

/// <summary>
/// The absolute paths requests named lately, each with its segments: a request for one of them
/// finds its path and segments here without decoding a string or splitting it. Holds only paths
/// that passed the path rules; it empties itself when full, so it stays small whatever peers send.
/// </summary>
internal sealed class PathCache
{
    private const int MaxPaths = 4096;
    // Longer paths are decoded the ordinary way; this bounds the stack the lookup uses.
    private const int MaxLength = 256;
    private readonly Dictionary<string, string[]> _paths = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public PathCache() => _lookup = _paths.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The cached path spelled by <paramref name="latin1"/> (no NUL) and its segments; false when it is not here.</summary>
    public bool TryGet(ReadOnlySpan<byte> latin1, out string path, out string[] segments)
    {
        if (latin1.Length is 0 or > MaxLength || latin1[0] != (byte)'/')
        {
            path = "";
            segments = [];
            return false;
        }
        Span<char> chars = stackalloc char[latin1.Length];
        for (var i = 0; i < latin1.Length; i++)
            chars[i] = (char)latin1[i];
        return _lookup.TryGetValue(chars, out path!, out segments!);
    }

    /// <summary>Remembers a canonical absolute path as it was sent.</summary>
    public void Add(string path)
    {
        if (path.Length > MaxLength || path[0] != '/')
            return;
        if (_paths.Count >= MaxPaths)
            _paths.Clear();
        _paths[path] = XsPath.Segments(path);
    }
}
