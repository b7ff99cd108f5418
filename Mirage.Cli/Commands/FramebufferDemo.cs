using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mirage.Cli.Vnc;

namespace Mirage.Cli.Commands;

/// <summary>
/// The demo's framebuffer step: <c>mirage fbback</c> and <c>mirage fbfront</c> as two processes over
/// the Unix backends, and a VNC client in this process that looks at the screen, saves what it saw as a
/// PNG, and types a key that the frontend reports.
/// </summary>
internal static class FramebufferDemo
{
    public static async Task<int> RunAsync(string png, CancellationToken cancellationToken)
    {
        Console.WriteLine("== The PV framebuffer and keyboard over VNC, two processes and a VNC client ==");
        var folder = Directory.CreateTempSubdirectory("mirage-demo-fb-").FullName;
        var socket = Path.Combine(folder, "xenstored.sock");
        var root = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : folder, "mirage-demo-xen-" + Path.GetFileName(folder));
        if (OperatingSystem.IsLinux())
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Process? xenstored = null, fbback = null, fbfront = null;
        try
        {
            Console.WriteLine("1. A Xenstore daemon on a private socket: mirage xenstored");
            xenstored = NetifDemo.Start(socket, root, "xenstored", "--quiet");
            for (var waited = 0; !File.Exists(socket); waited += 50)
            {
                if (xenstored.HasExited || waited > 30_000)
                    throw new InvalidOperationException("The Xenstore daemon did not start.");
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
            var vnc = new IPEndPoint(IPAddress.Loopback, FreePort());
            Console.WriteLine($"2. Domain 0 creates vfb 0 and vkbd 0 for domain 1 and serves them over VNC: mirage fbback --vnc {vnc}");
            fbback = NetifDemo.Start(socket, root, "fbback", "--vnc", vnc.ToString());
            Console.WriteLine("3. Domain 1 publishes its framebuffer's frames (page-ref, pd[]) and draws colour bars and a clock: mirage fbfront");
            fbfront = NetifDemo.Start(socket, root, "fbfront", "--seconds", "60");
            Console.WriteLine("4. A VNC client (RFB 3.8, zlib) connects to the backend and asks for the screen.");
            await using var client = await ConnectWhenShownAsync(vnc, cancellationToken).ConfigureAwait(false);
            // The bars are drawn at once; the clock a moment later, each an update the client asks for in turn.
            var clock = TestPatternClock(client);
            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token))
            {
                await client.RequestAsync(incremental: false, linked.Token).ConfigureAwait(false);
                await client.ReadUpdateAsync(linked.Token).ConfigureAwait(false);
                while (!BarsShown(client) || !ClockShown(client, clock))
                {
                    await client.RequestAsync(incremental: true, linked.Token).ConfigureAwait(false);
                    await client.ReadUpdateAsync(linked.Token).ConfigureAwait(false);
                }
            }
            File.WriteAllBytes(png, PngEncoder.Encode(client.Pixels, client.Width, client.Height));
            Console.WriteLine($"   The client saw {client.Width}x{client.Height} with the eight colour bars and the clock; saved as {Path.GetFullPath(png)}.");
            Console.WriteLine("5. The client types 'x': the keysym becomes Linux key 45 in a kbdif key event, which the frontend prints.");
            await client.KeyAsync('x', down: true, cancellationToken).ConfigureAwait(false);
            await client.KeyAsync('x', down: false, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        finally
        {
            // Let the frontend print the key before it is stopped.
            await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
            await NetifDemo.StopAsync(fbfront).ConfigureAwait(false);
            await NetifDemo.StopAsync(fbback).ConfigureAwait(false);
            await NetifDemo.StopAsync(xenstored).ConfigureAwait(false);
            Directory.Delete(folder, recursive: true);
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    // The server answers before the frontend connects (a 0x0 screen); the demo waits for the real one.
    private static async Task<RfbClient> ConnectWhenShownAsync(IPEndPoint vnc, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var client = await RfbClient.ConnectAsync(vnc, zlib: true, cancellationToken).ConfigureAwait(false);
                if (client.Width > 0)
                    return client;
                await client.DisposeAsync().ConfigureAwait(false);
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                // fbback is not listening yet.
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException("The framebuffer did not appear over VNC within 30 s.");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static FramebufferRectProbe TestPatternClock(RfbClient client) =>
        new(TestPattern.ClockRect(new Fbif.FramebufferGeometry(client.Width, client.Height, client.Width * 4, 32)));

    private static bool BarsShown(RfbClient client)
    {
        var y = client.Height / 3;
        for (var i = 0; i < TestPattern.Bars.Length; i++)
        {
            if (client.PixelAt((2 * i + 1) * client.Width / (2 * TestPattern.Bars.Length), y) != TestPattern.Bars[i])
                return false;
        }
        return true;
    }

    // The clock box is black with white digits: some white inside means it was drawn.
    private static bool ClockShown(RfbClient client, FramebufferRectProbe clock)
    {
        var r = clock.Rect;
        for (var y = r.Y; y < r.Y + r.Height; y++)
        {
            for (var x = r.X; x < r.X + r.Width; x++)
            {
                if (client.PixelAt(x, y) == 0xFFFFFF)
                    return true;
            }
        }
        return false;
    }

    private readonly record struct FramebufferRectProbe(Fbif.FramebufferRect Rect);
}
