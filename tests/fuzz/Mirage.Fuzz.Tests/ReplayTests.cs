using Mirage.Fuzz;

namespace Mirage.Fuzz.Tests;

/// <summary>
/// Every input under tests/fuzz/corpus/ and tests/fuzz/crashes/ (one folder per target) ends in
/// success or a documented rejection when run through its target: this keeps fixed crashes fixed.
/// </summary>
public sealed class ReplayTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "crashes" })
        {
            var root = Path.Combine(AppContext.BaseDirectory, kind);
            if (!Directory.Exists(root))
                continue;
            foreach (var folder in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                    data.Add(Path.GetFileName(folder), Path.GetRelativePath(AppContext.BaseDirectory, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_saved_input_ends_in_success_or_a_documented_rejection(string target, string file)
    {
        var fuzz = FuzzTargets.Find(target);
        Assert.NotNull(fuzz);
        fuzz.Run(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, file)));
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var t in FuzzTargets.All)
            Assert.True(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "corpus", t.Name)), $"no corpus for {t.Name}");
    }

    [Fact]
    public void The_committed_seeds_are_what_the_generator_writes()
    {
        foreach (var t in FuzzTargets.All)
        {
            foreach (var (name, bytes) in t.Seeds())
                Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", t.Name, name)));
        }
    }

    [Fact]
    public void Short_and_empty_inputs_are_whole_scripts()
    {
        foreach (var t in FuzzTargets.All)
        {
            t.Run([]);
            for (var b = 0; b < 16; b++)
                t.Run([(byte)b]);
        }
    }
}
