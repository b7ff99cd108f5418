using Microsoft.Extensions.Logging;

namespace Netif.Tests;

/// <summary>What netfront and netback log: connections with what was negotiated, and a peer's faults with their reason.</summary>
public sealed class NetifLoggingTests
{
    [Fact]
    public async Task A_netback_logs_its_attach_with_the_features_in_use_and_its_detach()
    {
        var logger = new CapturingLogger();
        var f = new RawFrontend(options: new NetbackOptions { Name = "vif-log", Logger = logger });
        await using (f)
        {
            var attached = Assert.Single(logger.At(LogLevel.Information));
            Assert.Contains("netback vif-log: attached to the netfront of domain 1: 1 queue(s)", attached);
            Assert.Contains("sg True", attached);
        }
        Assert.Contains(logger.At(LogLevel.Information), m => m.Contains("netback vif-log: detached from the netfront of domain 1"));
        Assert.Empty(logger.At(LogLevel.Warning));
    }

    [Fact]
    public async Task A_frontend_that_breaks_the_protocol_is_logged_with_what_it_did()
    {
        var logger = new CapturingLogger();
        await using var f = new RawFrontend(options: new NetbackOptions { Logger = logger });
        f.Write(new NetifTxRequest { Gref = f.PageRef(0), Id = 1, Size = 120, Flags = NetifTxFlags.MoreData });
        f.Push();

        await Assert.ThrowsAsync<NetifProtocolException>(() => f.Netback.Completion.WaitAsync(Timeouts.Short));

        var fault = Assert.Single(logger.At(LogLevel.Warning));
        Assert.Contains("the netfront of domain 1 broke the protocol", fault);
        Assert.Contains("claims more slots than the 1 requests pushed", fault);
    }

    [Fact]
    public async Task A_netfront_logs_its_setup_with_the_features_in_use_and_its_close()
    {
        var logger = new CapturingLogger();
        var b = new RawBackend(options: new NetfrontOptions { Name = "vif-log", Logger = logger });
        await using (b)
        {
            var setUp = Assert.Single(logger.At(LogLevel.Information));
            Assert.Contains("netfront vif-log: set up for the netback of domain 0: 1 queue(s)", setUp);
            Assert.Contains("mtu 1500", setUp);
        }
        Assert.Contains(logger.At(LogLevel.Information), m => m.Contains("netfront vif-log: closed towards the netback of domain 0"));
    }

    [Fact]
    public async Task A_backend_response_to_an_id_never_requested_is_logged_once_with_its_kind()
    {
        var logger = new CapturingLogger();
        await using var b = new RawBackend(options: new NetfrontOptions { Logger = logger });
        for (var i = 0; i < 2; i++)
        {
            Assert.True(b.Queue.TrySend(new byte[60]));
            b.Queue.Flush();
            Assert.True(b.Tx.TryReadRequest(out var request));
            b.Tx.WriteResponse(new NetifTxResponse { Id = (ushort)(request.Id + 100), Status = NetifStatus.Okay });
            b.Push();
        }
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();

        Assert.Equal(2, b.Netfront.Statistics.DropsFor(NetifDropReason.UnknownId));
        var fault = Assert.Single(logger.At(LogLevel.Warning));
        Assert.Contains("the netback of domain 0 wrote a bad tx response on queue 0: UnknownId", fault);
    }
}
