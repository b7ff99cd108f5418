using System.CommandLine;
using Mirage.Bench;

// The benchmark program: each benchmark measures this project against a baseline in the same run
// and prints the ratio. Run: dotnet run -c Release --project bench/Mirage.Bench -- <name>
// Each benchmark lives in <Name>Bench.cs and is listed here once.
var root = new RootCommand("Benchmarks of the Xen drivers, each against a baseline measured in the same run.")
{
    RingBench.Create(),
    XenstoreBench.Create(),
    EvtchnBench.Create(),
    BlkifBench.Create(),
    VchanBench.Create(),
    NetifBench.Create(),
    AllBench.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
