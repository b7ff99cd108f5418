using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Mirage.Cli.Tests;

/// <summary><c>mirage demo</c>'s vchan step: a second mirage process, its own Xenstore daemon, cleaned up after.</summary>
[Collection("processes")]
public sealed partial class DemoTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string[] DemoFolders() => Directory.GetFileSystemEntries("/dev/shm", "mirage-demo-*");

    [Fact]
    public async Task The_demo_moves_bytes_over_a_vchan_and_a_socket_and_removes_its_files()
    {
        var before = DemoFolders();
        using var demo = new MirageProcess(new Dictionary<string, string>(), "demo", "--requests", "10000", "--vchan-mib", "16");
        var output = await demo.StandardOutputText(Timeout);

        Assert.True(await demo.ExitCodeAsync(Timeout) == 0, output + demo.Errors);
        Assert.Contains("16 MiB crossed to domain 2", output, StringComparison.Ordinal);
        Assert.Matches(@"vchan [\d,]+ MB/s, Unix socket [\d,]+ MB/s", output);
        Assert.Equal(before, DemoFolders());
    }

    [Fact]
    public async Task Ctrl_C_during_the_vchan_step_stops_the_second_process_and_removes_the_files()
    {
        var before = DemoFolders();
        using var demo = new MirageProcess(new Dictionary<string, string>(), "demo", "--requests", "10000", "--vchan-mib", "1000000");
        var peer = await PeerIdAsync(demo);

        using (var kill = Process.Start("kill", ["-INT", demo.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync().WaitAsync(Timeout);
        await demo.ExitCodeAsync(Timeout);

        Assert.Equal(before, DemoFolders());
        Assert.False(IsRunning(peer), $"the second process {peer} still runs");
    }

    private static async Task<int> PeerIdAsync(MirageProcess demo)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Timeout)
        {
            var line = await demo.StandardOutputLine(Timeout) ?? throw new InvalidOperationException("The demo ended early: " + demo.Errors);
            if (PeerLine().Match(line) is { Success: true } m)
                return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        throw new TimeoutException("The demo never started its second process.");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"second mirage process \(pid (\d+)\)")]
    private static partial Regex PeerLine();
}
