using System.Diagnostics;
using System.Globalization;
using Xen.Xenctrl.Checks;

// The xenctrl backends' checks against a real Xen. Run in dom0 as root:
//   dotnet Xen.Xenctrl.Checks.dll            every check
//   dotnet Xen.Xenctrl.Checks.dll NAME...    the named checks
// Prints "PASS name (ms)" or "FAIL name: reason" per check and "N passed, M failed"; exits 1 if any failed.
// The child-* arguments are the helper processes that the kill -9 checks start and kill.
if (args.Length > 0 && args[0].StartsWith("child-", StringComparison.Ordinal))
    return await Children.RunAsync(args);

var selected = Checks.All.Where(c => args.Length == 0 || args.Contains(c.Name)).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"No such check. Checks: {string.Join(", ", Checks.All.Select(c => c.Name))}");
    return 2;
}
int passed = 0, failed = 0;
foreach (var (name, run) in selected)
{
    var watch = Stopwatch.StartNew();
    try
    {
        var check = run();
        if (await Task.WhenAny(check, Task.Delay(Check.Patience * 2)) != check)
            throw new CheckFailedException($"did not finish within {(Check.Patience * 2).TotalSeconds:0} s");
        await check;
        passed++;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PASS {name} ({watch.ElapsedMilliseconds} ms)"));
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"FAIL {name}: {(e is CheckFailedException ? e.Message : e.ToString())}");
    }
}
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
