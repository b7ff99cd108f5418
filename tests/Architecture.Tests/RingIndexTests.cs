using System.Text.RegularExpressions;

namespace Architecture.Tests;

/// <summary>
/// One ring: only SharedMemoryRing reads or writes a ring's shared indices, so that the hostile-peer
/// rule (an index read once, checked against its window) is written once. Drivers use its rings, and a
/// page layout that holds indices hands their address to a ring (<c>ByteRingIndices</c>).
/// </summary>
public sealed partial class RingIndexTests
{
    /// <summary>The index fields of <c>ring.h</c>'s shared header, the Xenstore page and a byte ring.</summary>
    private static readonly HashSet<string> IndexFields =
        ["ReqProd", "ReqEvent", "RspProd", "RspEvent", "ReqCons", "RspCons", "Cons", "Prod"];

    public static TheoryData<string> Libraries => new(LibraryAssemblies.Names.Where(n => n != "SharedMemoryRing"));

    [Theory]
    [MemberData(nameof(Libraries))]
    public void No_library_but_SharedMemoryRing_touches_an_index_field(string library)
    {
        var touches = IndexTouches(library).ToList();
        Assert.True(touches.Count == 0,
            $"{library} reads or writes ring indices itself: {string.Join("; ", touches)}. Use SharedMemoryRing's rings.");
    }

    [Fact]
    public void The_check_sees_SharedMemoryRing_touch_the_indices()
    {
        var fields = IndexTouches("SharedMemoryRing").Select(t => t[(t.LastIndexOf('.') + 1)..]).ToHashSet();
        Assert.Superset(new HashSet<string> { "ReqProd", "ReqEvent", "RspProd", "RspEvent", "Cons", "Prod" }, fields);
    }

    // An index reached by its offset in the page escapes the field check: no code outside SharedMemoryRing
    // names the offsets, except tests, which play hostile peers.
    [Fact]
    public void No_source_but_SharedMemoryRing_names_an_index_offset()
    {
        var root = Repository.Root;
        string[] exempt = ["SharedMemoryRing", "tests"];
        var hits = Directory.EnumerateDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && !exempt.Contains(Path.GetFileName(d)))
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "obj" or "bin"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(x => IndexOffset().IsMatch(x.Text))
            .Select(x => $"{Path.GetRelativePath(root, x.File)}:{x.Line}")
            .ToList();
        Assert.True(hits.Count == 0, "Ring index offsets used outside SharedMemoryRing: " + string.Join(", ", hits));
    }

    private static IEnumerable<string> IndexTouches(string library) =>
        LibraryAssemblies.TypesOf(library)
            .SelectMany(Il.FieldsTouched)
            .Where(x => IndexFields.Contains(x.Field.Name) && x.Field.DeclaringType!.IsValueType)
            .Select(x => $"{x.Method.DeclaringType!.FullName}.{x.Method.Name} uses {x.Field.DeclaringType!.Name}.{x.Field.Name}")
            .Distinct();

    [GeneratedRegex(@"\b(Req|Rsp)?(Prod|Cons|Event)Offset\b")]
    private static partial Regex IndexOffset();
}
