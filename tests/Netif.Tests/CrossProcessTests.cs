namespace Netif.Tests;

/// <summary>
/// The whole path between processes: <c>mirage xenstored</c>, <c>mirage netback</c> and
/// <c>mirage netfront</c>, each its own process over the Unix backends, meeting through Xenstore.
/// </summary>
[Collection(nameof(Alone))]
public sealed class CrossProcessTests
{
    [RootFact]
    public async Task Linux_pings_a_netfront_process_through_a_netback_process_on_a_tap_with_no_loss()
    {
        var id = Environment.ProcessId % 100000;
        var ns = $"mxnet{id}";
        var tap = $"mxtap{id}";
        Assert.Equal(0, Shell.Run($"ip netns add {ns}").Code);
        try
        {
            await using var scene = await Scene.StartAsync();
            await using var netback = scene.Start($"netback --tap {tap}", netns: ns);
            await netback.WaitForAsync("netback: serving");
            var setup = Shell.Run($"ip -n {ns} link set lo up && ip -n {ns} addr add 10.0.0.1/24 dev {tap} && ip -n {ns} link set {tap} up");
            Assert.True(setup.Code == 0, setup.Output + netback.Output);
            await using var netfront = scene.Start("netfront --ip 10.0.0.2/24");
            await netfront.WaitForAsync("answering ARP and ping");
            await netback.WaitForAsync("frontend connected");

            var ping = await Task.Factory.StartNew(() => Shell.Run($"ip netns exec {ns} ping -c 20 -i 0.05 -W 5 10.0.0.2"), TaskCreationOptions.LongRunning);

            Assert.True(ping.Code == 0, ping.Output + netfront.Output + netback.Output);
            Assert.True(ping.Output.Contains(" 20 received, 0% packet loss", StringComparison.Ordinal), ping.Output + netfront.Output + netback.Output);
        }
        finally
        {
            // The namespace takes its TAP with it; the processes were stopped above.
            Shell.Run($"ip netns del {ns}");
        }
    }

    [Fact]
    public async Task A_hundred_thousand_random_frames_of_60_to_9000_bytes_cross_each_way_intact()
    {
        await using var scene = await Scene.StartAsync();
        await using var netback = scene.Start("netback --loopback --mtu 9000 --keep-mappings");
        await netback.WaitForAsync("netback: serving");
        await using var netfront = scene.Start("netfront --send 100000 --size 60-9000");

        var code = await netfront.ExitAsync();

        Assert.True(code == 0, netfront.Output + netback.Output);
        Assert.Contains("100,000 of 100,000 60-9000-byte frames came back intact (0 bad)", netfront.Output);
    }

    [Fact]
    public async Task A_netfront_process_reconnects_when_the_netback_process_is_killed_and_started_again()
    {
        await using var scene = await Scene.StartAsync();
        await using (var first = scene.Start("netback --loopback"))
        {
            await first.WaitForAsync("netback: serving");
            await using var netfront = scene.Start("netfront");
            await netfront.WaitForAsync("netfront: connected");
            first.Kill();
            await first.ExitAsync();

            await using var second = scene.Start("netback --loopback");

            await netfront.WaitForAsync("netfront: connected", times: 2);
            await second.WaitForAsync("frontend connected (1)");
        }
    }
}
