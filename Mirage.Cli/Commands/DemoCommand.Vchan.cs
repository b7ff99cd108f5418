using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Reflection;
using Vchan;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Store.Server;
using Xen.Unix;

namespace Mirage.Cli.Commands;

// The demo's vchan step: this process is domain 1 and runs its own Xenstore daemon on a private socket;
// a second `mirage` process is domain 2. Bytes cross a vchan, then a Unix socket, for comparison.
internal static partial class DemoCommand
{
    private const string VchanPort = "demo";
    private const string PeerSocketVariable = "MIRAGE_DEMO_SOCKET";

    // The second process's role, a hidden option of `mirage demo`: vchan or socket.
    private static readonly Option<string?> PeerOption = new("--peer") { Hidden = true };

    private static async Task VchanBetweenProcessesAsync(long bytes, CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine("== A vchan between two processes, over the Unix backends ==");
        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine("   (skipped: the Unix backends need Linux)");
            return;
        }
        var root = Path.Combine("/dev/shm", "mirage-demo-" + Guid.NewGuid().ToString("N")[..12]);
        var storeSocket = root + ".xenstored";
        var plainSocket = root + ".socket";
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var daemon = new XenstoreServer(new XenstoreServerOptions());
        var serving = Task.CompletedTask;
        try
        {
            Console.WriteLine($"1. This process starts a Xenstore daemon on {storeSocket} and becomes domain 1 under {root}.");
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            serving = daemon.ListenAsync(storeSocket, ready.SetResult, stop.Token);
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 1, Root = root, Xenstore = storeSocket });
            await VchanCatCommand.PrepareDomainAsync(storeSocket, domain.Id, cancellationToken).ConfigureAwait(false);
            var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var vchanRate = await VchanThroughputAsync(domain.Events, domain.Memory, store, root, storeSocket, bytes, cancellationToken).ConfigureAwait(false);
                var socketRate = await SocketThroughputAsync(root, plainSocket, bytes, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"5. vchan {vchanRate:N0} MB/s, Unix socket {socketRate:N0} MB/s: {vchanRate / socketRate:0.00}x the socket's throughput.");
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Directory.Delete(root, recursive: true);
            File.Delete(storeSocket);
            File.Delete(plainSocket);
        }
    }

    private static async Task<double> VchanThroughputAsync(UnixEvents events, UnixMemory memory, XenstoreClient store, string root, string storeSocket,
        long bytes, CancellationToken cancellationToken)
    {
        var endpoint = await VchanXenstore.ListenAsync(events, memory, store, 2, VchanPort, 1 << 20, 1 << 20, cancellationToken).ConfigureAwait(false);
        await using (endpoint.ConfigureAwait(false))
        {
            Console.WriteLine($"2. Domain 1 shares a control page and two 1 MiB rings with domain 2 and publishes them at {VchanXenstore.PathOf(1, 2, VchanPort)}.");
            using var peer = StartPeer("vchan", root, storeSocket, null);
            await endpoint.WaitForConnectionAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"3. A second mirage process (pid {peer.Process.Id}), domain 2, read them from Xenstore, mapped the grants and connected.");
            var buffer = new byte[64 * 1024];
            var clock = Stopwatch.StartNew();
            for (long sent = 0; sent < bytes; sent += buffer.Length)
                await endpoint.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - sent)), cancellationToken).ConfigureAwait(false);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            var received = await PeerCountAsync(peer, cancellationToken).ConfigureAwait(false);
            clock.Stop();
            Check(received, bytes);
            var rate = bytes / clock.Elapsed.TotalSeconds / 1e6;
            Console.WriteLine($"4. {bytes / (1 << 20):N0} MiB crossed to domain 2 in {clock.Elapsed.TotalMilliseconds:N0} ms: {rate:N0} MB/s; " +
                "domain 2 read every byte, then the close.");
            return rate;
        }
    }

    // The same bytes over a Unix stream socket to a second process: the baseline.
    private static async Task<double> SocketThroughputAsync(string root, string path, long bytes, CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var peer = StartPeer("socket", root, null, path);
        using var accepted = await listener.AcceptAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < bytes; sent += buffer.Length)
            await accepted.SendAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - sent)), cancellationToken).ConfigureAwait(false);
        accepted.Shutdown(SocketShutdown.Send);
        var received = await PeerCountAsync(peer, cancellationToken).ConfigureAwait(false);
        clock.Stop();
        Check(received, bytes);
        return bytes / clock.Elapsed.TotalSeconds / 1e6;
    }

    private static void Check(long received, long sent)
    {
        if (received != sent)
            throw new InvalidOperationException($"The second process counted {received:N0} bytes of {sent:N0}.");
    }

    // The second process prints the bytes it counted, then exits.
    private static async Task<long> PeerCountAsync(DemoPeer demoPeer, CancellationToken cancellationToken)
    {
        var peer = demoPeer.Process;
        var line = await peer.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        await peer.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (peer.ExitCode != 0 || !long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            throw new InvalidOperationException($"The second process failed (exit {peer.ExitCode}): {line} {await peer.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false)}");
        return count;
    }

    // This same mirage: the apphost itself, or `dotnet mirage.dll` when run through the dotnet host.
    private static DemoPeer StartPeer(string role, string root, string? storeSocket, string? plainSocket)
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell which program this is.");
        var info = new ProcessStartInfo(process)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            info.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll ? dll : throw new InvalidOperationException("Cannot find mirage.dll."));
        info.ArgumentList.Add("demo");
        info.ArgumentList.Add("--peer");
        info.ArgumentList.Add(role);
        info.Environment["XEN_ROOT"] = root;
        if (storeSocket is not null)
            info.Environment["XENSTORED_PATH"] = storeSocket;
        if (plainSocket is not null)
            info.Environment[PeerSocketVariable] = plainSocket;
        var peer = new Process { StartInfo = info };
        peer.Start();
        return new DemoPeer(peer);
    }

    // The second process, killed if it is still running when the step ends (an error, or Ctrl-C).
    private sealed class DemoPeer(Process process) : IDisposable
    {
        public Process Process => process;

        public void Dispose()
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }

    // The second process: domain 2 at the vchan's other end, or a socket client. Counts bytes to the end and prints the count.
    private static async Task<int> RunPeerAsync(string role, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        if (role == "vchan")
        {
            // XEN_ROOT and XENSTORED_PATH, set by the first process, say where domain 1 is.
            using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 2 });
            await VchanCatCommand.PrepareDomainAsync(xenstore: null, domain.Id, cancellationToken).ConfigureAwait(false);
            var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var endpoint = await VchanXenstore.ConnectAsync(domain.Events, domain.Memory, store, 1, VchanPort, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                await using (endpoint.ConfigureAwait(false))
                {
                    while ((n = await endpoint.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
                        total += n;
                }
            }
        }
        else if (role == "socket")
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Environment.GetEnvironmentVariable(PeerSocketVariable)!), cancellationToken).ConfigureAwait(false);
            while ((n = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
                total += n;
        }
        else
        {
            await Console.Error.WriteLineAsync($"unknown peer role {role}").ConfigureAwait(false);
            return 2;
        }
        Console.WriteLine(total.ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}
