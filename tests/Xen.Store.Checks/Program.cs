using System.Diagnostics;
using System.Globalization;
using Xen.Store;
using Xen.Store.Checks;

// The same Xenstore scenarios against Xen's own daemon and `mirage xenstored`. Run in dom0 as root:
//   dotnet Xen.Store.Checks.dll --mirage /path/mirage.dll [--socket PATH] [--xenbus PATH] [--oxenstored] [--show] [--transcripts DIR] [NAME...]
//   dotnet Xen.Store.Checks.dll --probe-xenbus /dev/xen/xenbus     (one request by hand, then through the client)
// Targets: the running daemon's socket (default /var/run/xenstored/socket), the same daemon through the
// kernel's xenbus device (default /dev/xen/xenbus), and a `mirage xenstored` started here on a private
// socket. Each scenario runs once per target; "PASS name (ms)" when every target's transcript is the
// same, else "FAIL name: ..." with the differing lines. Ends with "N passed, M failed"; exits 1 on failure.
string? mirage = null, socket = "/var/run/xenstored/socket", xenbus = XsWire.XenbusDevicePath;
var show = false;
string? transcriptFolder = null;
var names = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--mirage": mirage = args[++i]; break;
        case "--socket": socket = args[++i]; break;
        case "--xenbus": xenbus = args[++i]; break;
        case "--show": show = true; break;
        case "--oxenstored": Transcript.AgainstOxenstored = true; break;
        case "--transcripts": transcriptFolder = args[++i]; break;
        case "--probe-xenbus": return await XenbusProbe.RunAsync(args[++i]);
        default: names.Add(args[i]); break;
    }
}
var selected = Scenarios.All.Where(s => names.Count == 0 || names.Contains(s.Name)).ToList();
if (selected.Count == 0 || mirage is null)
{
    Console.Error.WriteLine($"usage: --mirage DLL [--socket PATH] [--xenbus PATH] [--show] [NAME...]; scenarios: {string.Join(", ", Scenarios.All.Select(s => s.Name))}");
    return 2;
}

MirageDaemon daemon;
try
{
    daemon = MirageDaemon.Start(mirage);
}
catch (CheckFailedException e)
{
    Console.WriteLine($"FAIL mirage-xenstored: {e.Message}");
    return 1;
}
using var stopDaemon = daemon;
Target[] targets = [Target.Socket("socket", socket), Target.Xenbus(xenbus), Target.Socket("mirage", daemon.SocketPath)];
int passed = 0, failed = 0;
foreach (var (name, scenario) in selected)
{
    var watch = Stopwatch.StartNew();
    var transcripts = new List<(Target Target, Transcript Transcript)>();
    foreach (var target in targets)
    {
        var transcript = new Transcript();
        try
        {
            var run = Scenarios.Run(scenario, target, transcript);
            if (await Task.WhenAny(run, Task.Delay(Check.Patience * 3)) != run)
                throw new CheckFailedException($"did not finish within {(Check.Patience * 3).TotalSeconds:0} s");
            await run;
        }
        catch (Exception e)
        {
            transcript.Add($"stopped by {e.GetType().Name}: {e.Message}{(e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : "")}");
        }
        transcripts.Add((target, transcript));
    }
    var (reference, expected) = transcripts[0];
    var diffs = transcripts.Skip(1)
        .Where(x => !x.Transcript.Matches(expected))
        .Select(x => Transcript.Diff(reference.Name, expected, x.Target.Name, x.Transcript))
        .ToList();
    foreach (var (target, transcript) in transcripts)
    {
        foreach (var note in transcript.Notes)
            Console.WriteLine($"  note {name} [{target.Name}]: {note}");
        if (transcriptFolder is not null)
        {
            Directory.CreateDirectory(transcriptFolder);
            File.WriteAllLines(Path.Combine(transcriptFolder, $"{name}.{target.Name}.txt"), [.. transcript.Lines, .. transcript.Notes.Select(n => "note: " + n)]);
        }
        if (show)
        {
            foreach (var line in transcript.Lines)
                Console.WriteLine($"  {name} [{target.Name}] {line}");
        }
    }
    if (diffs.Count == 0)
    {
        passed++;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PASS {name} ({watch.ElapsedMilliseconds} ms)"));
    }
    else
    {
        failed++;
        Console.WriteLine($"FAIL {name}: the targets differ:{string.Concat(diffs)}");
    }
}
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
