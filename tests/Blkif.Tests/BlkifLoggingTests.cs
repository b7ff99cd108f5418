using Blkif.Storage;
using Microsoft.Extensions.Logging;
using SharedMemoryRing;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Blkif.Tests;

/// <summary>What blkfront and blkback log: connections with what was negotiated, and a peer's faults with their reason.</summary>
public sealed class BlkifLoggingTests
{
    [Fact]
    public async Task Connect_and_disconnect_are_logged_on_both_sides_with_what_was_negotiated()
    {
        var back = new CapturingLogger();
        var front = new CapturingLogger();
        await using (var disk = InHeapDisk.Start(new MemoryStorage(1 << 20),
            new BlkbackOptions { Name = "xvdl", Logger = back },
            new BlkfrontOptions { Name = "xvdl", Logger = front }))
        {
            var served = Assert.Single(back.At(LogLevel.Information));
            Assert.Contains("blkback xvdl: serving the blkfront of domain 1", served);
            Assert.Contains("feature-persistent True", served);
            Assert.Contains("2048 sectors of 512 bytes", served);
            var connected = Assert.Single(front.At(LogLevel.Information));
            Assert.Contains("blkfront xvdl: connected to the blkback of domain 0", connected);
            Assert.Contains("feature-persistent True", connected);
        }
        Assert.Contains(back.At(LogLevel.Information), m => m.Contains("stopped serving the blkfront of domain 1"));
        Assert.Contains(front.At(LogLevel.Information), m => m.Contains("closed towards the blkback of domain 0"));
        Assert.Empty(back.At(LogLevel.Warning));
        Assert.Empty(front.At(LogLevel.Warning));
    }

    [Fact]
    public async Task A_frontend_that_breaks_the_ring_is_logged_with_what_it_did()
    {
        var logger = new CapturingLogger();
        await using var front = new RawFrontend(new RecordingStorage(1 << 20), new BlkbackOptions { Logger = logger });

        front.CorruptRequestProducer(1000);
        await Assert.ThrowsAsync<RingProtocolException>(() => front.Backend.Completion.WaitAsync(TestData.Timeout()));

        var fault = Assert.Single(logger.At(LogLevel.Warning));
        Assert.Contains("the blkfront of domain 1 broke the protocol", fault);
        Assert.Contains("req_prod", fault);
    }

    [Fact]
    public void A_backend_that_publishes_a_bad_disk_is_logged_with_what_was_wrong()
    {
        var logger = new CapturingLogger();
        using var events = new InHeapEventHub();
        using var grants = new InHeapGrantHub();
        using var domain = InHeapDomain.Open(events, grants, 1);
        var bad = new BlkifBackendInfo { Sectors = 2048, SectorSize = 1000, PhysicalSectorSize = 1000 };

        Assert.Throws<InvalidDataException>(() =>
            Blkfront<InHeapEvents, InHeapMemory>.Create(domain.Events, domain.Memory, 0, bad, new BlkfrontOptions { Logger = logger }));

        var fault = Assert.Single(logger.At(LogLevel.Warning));
        Assert.Contains("the blkback of domain 0 broke the protocol", fault);
        Assert.Contains("sector-size 1000", fault);
    }
}
