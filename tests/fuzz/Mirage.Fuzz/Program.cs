using Mirage.Fuzz;
using SharpFuzz;

// Mirage.Fuzz <target>               run one target under afl-fuzz (tests/fuzz/run.sh does this)
// Mirage.Fuzz --seeds <dir>          write every target's seed corpus to <dir>/<target>/
// Mirage.Fuzz --replay <target> <path>...  run files (or every file in folders) once, in-process
// Mirage.Fuzz --list                 print the target names
switch (args)
{
    case ["--list"]:
        foreach (var t in FuzzTargets.All)
            Console.WriteLine(t.Name);
        return 0;
    case ["--seeds", var dir]:
        foreach (var t in FuzzTargets.All)
        {
            var folder = Path.Combine(dir, t.Name);
            Directory.CreateDirectory(folder);
            foreach (var (name, bytes) in t.Seeds())
                File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }
        return 0;
    case ["--replay", var name, .. var paths] when FuzzTargets.Find(name) is { } target:
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok {file}");
        }
        return 0;
    case [var name] when FuzzTargets.Find(name) is { } target:
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            target.Run(copy.GetBuffer().AsSpan(0, (int)copy.Length));
        });
        return 0;
    default:
        Console.Error.WriteLine("usage: Mirage.Fuzz <target> | --seeds <dir> | --replay <target> <file|dir>... | --list");
        Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
        return 2;
}
