using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class LoggingTests
{
    [Fact]
    public async Task The_daemon_logs_a_peer_that_announces_an_oversize_payload_and_why_it_drops_it()
    {
        var log = new CapturingLogger();
        using var server = new XenstoreServer(new XenstoreServerOptions { Logger = log });
        await using var raw = new Raw(server.Connect(domain: 3));
        var header = new byte[XsWireHeader.Size];
        new XsWireHeader(XsMessageType.Read, 1, 0, XsWire.PayloadMax + 1).Write(header);
        await raw.SendBytesAsync(header);

        // The fault is logged before the connection ends.
        Assert.Null(await raw.ReceiveAsync());
        var fault = Assert.Single(log.Messages("ProtocolFault"));
        Assert.Contains("domain 3", fault, StringComparison.Ordinal);
        Assert.Contains($"{XsWire.PayloadMax + 1} payload bytes, above {XsWire.PayloadMax}", fault, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Warning, log.Entries.First(e => e.Event.Name == "ProtocolFault").Level);
    }

    [Fact]
    public async Task The_daemon_logs_a_bad_path_with_the_path()
    {
        var log = new CapturingLogger();
        using var server = new XenstoreServer(new XenstoreServerOptions { Logger = log });
        await using var raw = new Raw(server.Connect());
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.Write, Raw.Args("/a//b", "v")));
        var malformed = Assert.Single(log.Messages("MalformedRequest"));
        Assert.Contains("Write", malformed, StringComparison.Ordinal);
        Assert.Contains("bad path '/a//b'", malformed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_daemon_logs_a_watch_quota_hit_with_the_quota_and_the_limit()
    {
        var log = new CapturingLogger();
        using var server = new XenstoreServer(new XenstoreServerOptions { Logger = log, MaxWatchesPerConnection = 1 });
        await using var raw = new Raw(server.Connect(domain: 5));
        Assert.Equal((XsMessageType.Watch, "OK\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/a", "one")));
        Assert.Equal((XsMessageType.Error, "E2BIG\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/b", "two")));
        var hit = Assert.Single(log.Messages("QuotaHit"));
        Assert.Contains("domain 5", hit, StringComparison.Ordinal);
        Assert.Contains("Watches quota", hit, StringComparison.Ordinal);
        Assert.Contains("may hold 1 watches", hit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_daemon_logs_connections_and_domains_coming_and_going()
    {
        var log = new CapturingLogger();
        using var server = new XenstoreServer(new XenstoreServerOptions { Logger = log });
        var pipe = server.Connect();
        await using (var dom0 = XenstoreClient.Connect(pipe))
        {
            await dom0.IntroduceAsync(7, 1, 2).Within();
            await dom0.ReleaseAsync(7).Within();
        }
        Assert.Contains("Domain 7 introduced", log.Messages("DomainIntroduced"));
        Assert.Contains("Domain 7 released: RELEASE from domain 0", log.Messages("DomainReleased"));
        Assert.Single(log.Messages("Connected"));
    }

    [Fact]
    public async Task A_client_logs_a_quota_error_from_the_daemon()
    {
        var log = new CapturingLogger();
        using var server = new XenstoreServer(new XenstoreServerOptions { MaxTransactionsPerConnection = 0 });
        await using var client = XenstoreClient.Connect(server.Connect(), log);
        var e = await Assert.ThrowsAsync<XenstoreException>(() => client.TransactionAsync(_ => Task.CompletedTask)).Within();
        Assert.Equal(XsError.ENOSPC, e.Error);
        Assert.Equal(["Xenstore quota hit: TransactionStart answered ENOSPC"], log.Messages("QuotaHit"));
    }

    [Fact]
    public async Task A_client_logs_a_daemon_reply_that_breaks_the_framing()
    {
        var log = new CapturingLogger();
        var toDaemon = new Pipe();
        var toClient = new Pipe();
        await using var client = XenstoreClient.Connect(new Duplex(toClient.Reader, toDaemon.Writer), log);
        var read = client.TryReadAsync("/x");
        var header = new byte[XsWireHeader.Size];
        new XsWireHeader(XsMessageType.Read, 1, 0, 70000).Write(header);
        await toClient.Writer.WriteAsync(header);

        await Assert.ThrowsAsync<XenstoreException>(() => read).Within();
        var malformed = Assert.Single(log.Messages("MalformedReply"));
        Assert.Contains("a payload of 70000 bytes", malformed, StringComparison.Ordinal);
        Assert.Single(log.Messages("ConnectionLost"));
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
