using System.Runtime.InteropServices;

namespace Vchan.Tests;

/// <summary>
/// Two ends whose threads run on one core: each can only answer the other once it yields, so after a
/// few hand-overs their spins yield at once instead of looking 63 times first.
/// </summary>
public partial class SharedCoreTests
{
    [Fact]
    public async Task Ends_on_one_core_yield_at_once_when_they_wait_for_each_other()
    {
        using var pair = VchanPair.Create(0, 0); // the server writes the 2 KiB in-page ring
        const int Total = 1 << 20;
        var cpu = FirstAllowedCpu();
        var writer = Pinned(cpu, () =>
        {
            var chunk = new byte[65536];
            for (var sent = 0; sent < Total; sent += chunk.Length)
                pair.Server.Write(chunk);
        });
        var reader = Pinned(cpu, () =>
        {
            var buffer = new byte[65536];
            for (var got = 0; got < Total;)
                got += pair.Client.Read(buffer);
        });
        await Task.WhenAll(writer, reader).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(pair.Server.Counters.WriteSpinsYieldingAtOnce > 0, "the writer's spins never yielded at once");
        Assert.True(pair.Client.Counters.ReadSpinsYieldingAtOnce > 0, "the reader's spins never yielded at once");
    }

    // A thread of its own, allowed on one CPU only (the mask is the calling thread's on Linux).
    private static Task Pinned(int cpu, Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var mask = 1UL << cpu;
                if (SchedSetAffinity(0, sizeof(ulong), ref mask) != 0)
                    throw new InvalidOperationException($"sched_setaffinity: errno {Marshal.GetLastPInvokeError()}");
                body();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true };
        thread.Start();
        return done.Task;
    }

    private static int FirstAllowedCpu()
    {
        ulong mask = 0;
        if (SchedGetAffinity(0, sizeof(ulong), ref mask) < 0 || mask == 0)
            throw new InvalidOperationException($"sched_getaffinity: errno {Marshal.GetLastPInvokeError()}");
        return System.Numerics.BitOperations.TrailingZeroCount(mask);
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint cpusetsize, ref ulong mask);
}
