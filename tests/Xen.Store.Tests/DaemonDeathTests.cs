using System.Diagnostics;

namespace Xen.Store.Tests;

/// <summary><c>kill -9</c> of the real <c>mirage xenstored</c> process while a client is in the middle of requests and a watch.</summary>
public sealed class DaemonDeathTests
{
    // The requirement: a client learns of the daemon's death within a second.
    private static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Clients_of_a_killed_daemon_fail_at_once_and_a_restarted_daemon_serves_them_again()
    {
        using var first = new DaemonProcess();
        var socket = first.SocketPath;
        long acknowledged = 0;
        TimeSpan noticed;
        await using (var client = await XenstoreClient.ConnectAsync(socket, Timeouts.Token))
        {
            await using var watch = client.WatchAsync("/watched", Timeouts.Token).GetAsyncEnumerator();
            Assert.True(await watch.MoveNextAsync());
            // Requests back to back, each one acknowledged before the next is sent.
            var writer = Task.Run(async () =>
            {
                while (true)
                {
                    await client.WriteAsync("/count", (acknowledged + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    Interlocked.Increment(ref acknowledged);
                }
            });
            while (Interlocked.Read(ref acknowledged) < 200)
                await Task.Delay(5);

            first.Process.Kill();
            await first.Process.WaitForExitAsync().Within();
            var sinceDeath = Stopwatch.StartNew();
            var failed = await Assert.ThrowsAsync<XenstoreException>(() => writer).Within();
            noticed = sinceDeath.Elapsed;
            Assert.Contains("closed", failed.Message, StringComparison.Ordinal);
            // The watch ends with the same error, and every later request fails at once.
            await Assert.ThrowsAsync<XenstoreException>(async () => await watch.MoveNextAsync()).Within();
            await Assert.ThrowsAsync<XenstoreException>(() => client.ReadAsync("/count")).Within();
        }
        Assert.True(noticed < NoticeBound, $"the client failed {noticed.TotalMilliseconds:F0} ms after the daemon died");

        // A daemon restarted on the same socket serves a new connection; it starts empty, as Xen's does.
        using var second = new DaemonProcess(["--socket", socket]);
        await using var again = await XenstoreClient.ConnectAsync(socket, Timeouts.Token);
        Assert.Null(await again.TryReadAsync("/count", Timeouts.Token));
        await again.WriteAsync("/count", "1", Timeouts.Token);
        Assert.Equal("1", await again.ReadAsync("/count", Timeouts.Token));
    }
}
