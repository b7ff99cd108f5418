using System.Globalization;
using System.Text.RegularExpressions;

namespace Mirage.Cli.Tests;

/// <summary>
/// <c>mirage soak</c>: a short run that kills and restarts parties and loses nothing, and a run whose
/// parties fake one acknowledgement each, which the books must catch.
/// </summary>
[Collection("processes")]
public sealed partial class SoakTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(240);

    private static string[] SoakFolders() => Directory.GetFileSystemEntries("/dev/shm", "mirage-soak-*");

    [Fact]
    public async Task A_short_soak_kills_and_restarts_parties_loses_nothing_and_exits_0()
    {
        var before = SoakFolders();
        using var soak = new MirageProcess(new Dictionary<string, string>(), "soak", "--seconds", "15", "--seed", "7");
        var output = await soak.StandardOutputText(Timeout);

        Assert.True(await soak.ExitCodeAsync(Timeout) == 0, output + soak.Errors);
        // Progress while it ran, then the books.
        Assert.Matches(@"soak: +\d+ s: \d+ kills, \d+ restarts; acknowledged: vchan", output);
        Assert.True(Count(output, @"soak: kills (\d+)") >= 1, output);
        Assert.True(Count(output, @"vchan +([\d,]+) bytes acknowledged") > 0, output);
        Assert.True(Count(output, @"netif +([\d,]+) frames came back") > 0, output);
        Assert.True(Count(output, @"blkif +([\d,]+) writes acknowledged") > 0, output);
        Assert.True(Count(output, @"xenstore +([\d,]+) writes acknowledged") > 0, output);
        // The blkif disk and the Xenstore keys were read back, at least at the end.
        Assert.True(Count(output, @"([\d,]+) blocks read back") >= 256, output);
        Assert.True(Count(output, @"([\d,]+) keys read back") >= 64, output);
        Assert.Contains("soak: lost 0, corrupt 0, unnoticed deaths 0: PASS", output, StringComparison.Ordinal);
        Assert.DoesNotContain("problem:", output, StringComparison.Ordinal);
        Assert.Equal(before, SoakFolders());
    }

    [Fact]
    public async Task A_soak_killed_with_SIGKILL_takes_its_parties_with_it()
    {
        var before = SoakFolders();
        using var soak = new MirageProcess(new Dictionary<string, string>(), "soak", "--seconds", "300", "--seed", "3");
        int[] parties = [];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((parties = ChildrenOf(soak.Id)).Length < 8)
        {
            Assert.True(clock.Elapsed < Timeout, $"The soak started {parties.Length} parties: {soak.Errors}");
            await Task.Delay(100);
        }

        System.Diagnostics.Process.GetProcessById(soak.Id).Kill();
        clock.Restart();
        while (parties.Where(IsRunning).ToArray() is { Length: > 0 } left)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"Parties still running a minute after the soak died: {string.Join(", ", left)}");
            await Task.Delay(100);
        }
        // The dead soak's own folders stay behind (its root on /dev/shm, its sockets' folder of the same name in /tmp).
        foreach (var folder in SoakFolders().Except(before))
        {
            Directory.Delete(folder, recursive: true);
            var sockets = Path.Combine(Path.GetTempPath(), Path.GetFileName(folder));
            if (Directory.Exists(sockets))
                Directory.Delete(sockets, recursive: true);
        }
    }

    /// <summary>The processes whose parent is <paramref name="pid"/>, from /proc/&lt;pid&gt;/stat's ppid field.</summary>
    private static int[] ChildrenOf(int pid) =>
        [.. Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(int.Parse!)
            .Where(p => Stat(p) is { } fields && fields[1] == pid.ToString(CultureInfo.InvariantCulture))];

    private static bool IsRunning(int pid) => Stat(pid) is { } fields && fields[0] != "Z";

    /// <summary>State and ppid of a process, or null once it is gone.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[..2];
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public async Task A_soak_whose_parties_fake_acknowledgements_reports_each_loss_and_exits_1()
    {
        // Each pair's first generation acknowledges one thing it did not deliver: the vchan receiver 4096
        // bytes more than it read, the netback a frame it never reported, the blkfront and the Xenstore
        // client a write they never sent. Seed 3 kills nobody in 3 s, so no restart can hide a fault.
        using var soak = new MirageProcess(new Dictionary<string, string>(), "soak", "--seconds", "3", "--seed", "3",
            "--fault", "vchan", "--fault", "netif", "--fault", "blkif", "--fault", "xenstore");
        var output = await soak.StandardOutputText(Timeout);

        Assert.True(await soak.ExitCodeAsync(Timeout) == 1, output + soak.Errors);
        Assert.Matches(@"vchan .*; lost 4,096 bytes", output);
        Assert.Matches(@"netif .*; lost 1 frames", output);
        Assert.Matches(@"blkif .*; lost 1 writes", output);
        Assert.Matches(@"xenstore .*; lost 1 writes", output);
        Assert.Contains("problem: blkif block 0: read back version 0, but version 1000000001 was acknowledged", output, StringComparison.Ordinal);
        Assert.Contains("problem: xenstore /soak/k0: read back nothing", output, StringComparison.Ordinal);
        Assert.Contains("soak: lost 4,099, corrupt 0", output, StringComparison.Ordinal);
        Assert.EndsWith("FAIL", output.TrimEnd(), StringComparison.Ordinal);
    }

    private static long Count(string output, string pattern)
    {
        var match = Regex.Match(output, pattern);
        Assert.True(match.Success, $"no '{pattern}' in:\n{output}");
        return long.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }
}
