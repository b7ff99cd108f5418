using System.Diagnostics;
using System.Text.Json;

namespace Mirage.Bench.Tests;

/// <summary>
/// The report of <c>all</c>, run in its quick mode: every goal of issue 16's table is a row, and the
/// JSON has the shape the issue gives. The figures themselves are not checked; a quick run on a shared
/// machine says nothing about speed.
/// </summary>
public sealed class AllReportTests
{
    // The goal rows of the table, each with its unit, and the idle-CPU row.
    private static readonly Dictionary<string, string> GoalRows = new(StringComparer.Ordinal)
    {
        ["ring-12b"] = "round trips/s",
        ["evtchn-rtt"] = "us",
        ["evtchn-rtt-spin"] = "us",
        ["vchan-bulk"] = "MB/s",
        ["vchan-rtt"] = "us",
        ["vchan-inpage-1k"] = "MB/s",
        ["vchan-inpage-2k"] = "MB/s",
        ["netif-64-tx"] = "frames/s",
        ["netif-64-rx"] = "frames/s",
        ["netif-1500-tx"] = "frames/s",
        ["netif-1500-rx"] = "frames/s",
        ["blkif-4k"] = "IOPS",
        ["blkif-1m"] = "MiB/s",
        ["blkif-null"] = "IOPS",
        ["xenstore-rtt"] = "us",
        ["xenstore-pipelined"] = "reads/s",
        ["idle-cpu"] = "% of a core",
    };

    // Goals that are a ratio to a C reference (the others are absolute or CPU bounds).
    private static readonly string[] AgainstC =
    [
        "ring-12b", "evtchn-rtt", "evtchn-rtt-spin", "vchan-bulk", "vchan-rtt", "vchan-inpage-1k", "vchan-inpage-2k",
        "netif-64-tx", "netif-64-rx", "netif-1500-tx", "netif-1500-rx", "blkif-4k", "blkif-1m", "xenstore-rtt",
    ];

    [Fact]
    public void Quick_run_writes_every_goal_row_with_its_reference_ratio_goal_and_CPU()
    {
        var json = Path.Combine(Path.GetTempPath(), $"mirage-bench-all-{Environment.ProcessId}.json");
        try
        {
            var table = RunAll("all", "--quick", "--json", json);

            using var document = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
            var rows = document.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, StringComparer.Ordinal);
            foreach (var (name, unit) in GoalRows)
            {
                Assert.True(rows.TryGetValue(name, out var row), $"row {name} is missing");
                foreach (var key in new[] { "name", "value", "unit", "reference", "ratio", "goal", "met" })
                    Assert.True(row.TryGetProperty(key, out _), $"row {name} has no {key}");
                Assert.Equal(unit, row.GetProperty("unit").GetString());
                var value = row.GetProperty("value").GetDouble();
                Assert.True(double.IsFinite(value) && value >= 0, $"row {name}: value {value}");
                Assert.Equal(JsonValueKind.String, row.GetProperty("goal").ValueKind);
                Assert.True(row.GetProperty("met").ValueKind is JsonValueKind.True or JsonValueKind.False, $"row {name}: met is not a boolean");
                Assert.Equal(JsonValueKind.Number, row.GetProperty("cpuMicrosPerItem").ValueKind);
                Assert.Contains(name, table, StringComparison.Ordinal);
            }
            foreach (var name in AgainstC)
            {
                var row = rows[name];
                var reference = row.GetProperty("reference").GetDouble();
                Assert.True(reference > 0, $"row {name}: C reference {reference}");
                Assert.Equal(row.GetProperty("value").GetDouble() / reference, row.GetProperty("ratio").GetDouble(), 9);
                Assert.Contains("x C", row.GetProperty("goal").GetString(), StringComparison.Ordinal);
                // Both sides' CPU: the C reference's, and the peer's where the figure has a second process.
                Assert.Equal(JsonValueKind.Number, row.GetProperty("referenceCpuMicrosPerItem").ValueKind);
            }
            foreach (var name in new[] { "evtchn-rtt", "vchan-bulk", "netif-64-tx", "blkif-4k" })
                Assert.Equal(JsonValueKind.Number, rows[name].GetProperty("peerCpuMicrosPerItem").ValueKind);
            foreach (var name in new[] { "ring-12b", "vchan-bulk", "netif-64-rx", "xenstore-rtt" })
                Assert.Equal(JsonValueKind.Number, rows[name].GetProperty("allocatedBytesPerItem").ValueKind);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public void Only_measures_the_rows_it_names()
    {
        var json = Path.Combine(Path.GetTempPath(), $"mirage-bench-only-{Environment.ProcessId}.json");
        try
        {
            RunAll("all", "--quick", "--only", "xenstore-rtt,baseline-socket-rtt", "--json", json);
            using var document = JsonDocument.Parse(File.ReadAllText(json));
            var names = document.RootElement.EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToArray();
            Assert.Equal(new[] { "xenstore-rtt", "baseline-socket-rtt" }, names);
        }
        finally
        {
            File.Delete(json);
        }
    }

    // Runs the built bench (`dotnet Mirage.Bench.dll ...`) to completion and returns its standard output.
    private static string RunAll(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BenchDll);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("all --quick did not finish within 3 minutes:\n" + stderr.Result);
        }
        Assert.True(process.ExitCode == 0, $"all --quick exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    // The bench built beside the tests, in the same configuration and framework.
    private static string BenchDll
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var configuration = framework.Parent!.Name;
            for (var dir = framework.Parent; dir is not null; dir = dir.Parent)
            {
                var dll = Path.Combine(dir.FullName, "bench", "Mirage.Bench", "bin", configuration, framework.Name, "Mirage.Bench.dll");
                if (File.Exists(dll))
                    return dll;
            }
            throw new FileNotFoundException($"Mirage.Bench.dll is not built ({configuration}, {framework.Name}); build bench/Mirage.Bench.");
        }
    }
}
