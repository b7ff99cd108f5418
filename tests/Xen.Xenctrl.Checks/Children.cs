using System.Diagnostics;
using System.Globalization;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl.Checks;

/// <summary>
/// Helper processes for the checks that need a second process: one to kill with SIGKILL while it holds a
/// share or a mapping, one to crash by writing to a read-only mapping. Both ends live in dom0.
/// </summary>
internal static class Children
{
    /// <summary>Starts this program with a child-* argument list; its stdout is read line by line.</summary>
    internal static Process Start(params string[] arguments)
    {
        var self = typeof(Children).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            info.ArgumentList.Add(self);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new CheckFailedException($"cannot start {host}");
    }

    /// <summary>Reads the child's next stdout line, failing if it exits or takes too long.</summary>
    internal static async Task<string> ReadLineAsync(Process child, string waitingFor)
    {
        using var timeout = new CancellationTokenSource(Check.Patience);
        try
        {
            var line = await child.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                await child.WaitForExitAsync(timeout.Token);
                var stderr = await child.StandardError.ReadToEndAsync(timeout.Token);
                throw new CheckFailedException($"the child exited with {child.ExitCode} before '{waitingFor}': {stderr}");
            }
            return line;
        }
        catch (OperationCanceledException)
        {
            child.Kill();
            throw new CheckFailedException($"the child did not say '{waitingFor}' within {Check.Patience.TotalSeconds:0} s");
        }
    }

    internal static async Task<int> RunAsync(string[] args)
    {
        switch (args[0])
        {
            case "child-map":
            {
                // Connect to the parent's port, map its page with "clear byte 0 and notify", then wait to be killed.
                using var events = XenctrlEvents.Open(0);
                using var memory = XenctrlMemory.Open(0);
                var channel = events.Connect(0, Port.Parse(args[1]));
                using var mapping = memory.Map(0, GrantRef.Parse(args[2]), writable: true,
                                               UnmapNotify.ClearByteAndSendEvent(0, channel.LocalPort.Value));
                Console.WriteLine("ready");
                await Console.In.ReadToEndAsync();
                return 0;
            }
            case "child-share":
            {
                // Connect to the parent's port, share a page with "clear byte 0 and notify", then wait to be killed.
                using var events = XenctrlEvents.Open(0);
                using var memory = XenctrlMemory.Open(0);
                var channel = events.Connect(0, Port.Parse(args[1]));
                using var share = memory.Share(0, 1, writable: true, UnmapNotify.ClearByteAndSendEvent(0, channel.LocalPort.Value));
                share.Span[0] = 1;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ref={share.Refs[0]}"));
                await Console.In.ReadToEndAsync();
                return 0;
            }
            case "child-write-readonly":
            {
                // Map the parent's read-only grant read-only and write through the pointer: this must fault.
                using var memory = XenctrlMemory.Open(0);
                using var mapping = memory.Map(0, GrantRef.Parse(args[1]), writable: false);
                Console.WriteLine("mapped");
                Console.Out.Flush();
                unsafe
                {
                    *mapping.Pointer = 0x77;
                }
                Console.WriteLine("wrote");
                return 0;
            }
            default:
                Console.Error.WriteLine($"unknown child {args[0]}");
                return 2;
        }
    }
}
