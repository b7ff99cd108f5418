using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif.Tests;

/// <summary>The Xenstore keys of blkif.h, written and read back, and what a bad peer's keys give.</summary>
public sealed class BlkifXenstoreKeysTests
{
    private static Func<string, string?> Reader(IEnumerable<KeyValuePair<string, string>> keys)
    {
        var map = keys.ToDictionary(k => k.Key, k => k.Value);
        return key => map.GetValueOrDefault(key);
    }

    private static readonly BlkifBackendInfo Full = new()
    {
        Sectors = 2_097_152,
        SectorSize = 4096,
        PhysicalSectorSize = 4096,
        Info = VdiskInfo.ReadOnly,
        FeatureFlushCache = true,
        FeatureBarrier = true,
        FeatureDiscard = true,
        DiscardGranularity = 4096,
        DiscardAlignment = 0,
        FeaturePersistent = true,
        MaxIndirectSegments = 256,
        MaxRingPageOrder = 4,
        MaxQueues = 2,
    };

    [Fact]
    public void Backend_keys_read_back_as_the_same_info() =>
        Assert.Equal(Full, BlkifXenstoreKeys.ParseBackend(Reader(BlkifXenstoreKeys.Backend(Full))));

    [Fact]
    public void A_read_only_backend_writes_mode_r()
    {
        var keys = BlkifXenstoreKeys.Backend(Full).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("r", keys["mode"]);
        Assert.Equal("4", keys["info"]);
    }

    [Fact]
    public void A_backend_without_indirect_requests_writes_no_indirect_key()
    {
        var keys = BlkifXenstoreKeys.Backend(Full with { MaxIndirectSegments = 0 });
        Assert.DoesNotContain(keys, k => k.Key == "feature-max-indirect-segments");
    }

    [Fact]
    public void Missing_backend_keys_take_the_header_defaults()
    {
        var info = BlkifXenstoreKeys.ParseBackend(Reader([new("sectors", "100")]));
        Assert.Equal(512, info.SectorSize);
        Assert.Equal(512, info.PhysicalSectorSize);
        Assert.Equal(0, info.MaxRingPageOrder);
        Assert.Equal(1, info.MaxQueues);
        Assert.Equal(0, info.MaxIndirectSegments);
        Assert.False(info.FeatureFlushCache || info.FeatureBarrier || info.FeatureDiscard || info.FeaturePersistent);
    }

    [Theory]
    [InlineData("sectors", "-1")]
    [InlineData("sectors", "0")]
    [InlineData("sector-size", "1000")]
    [InlineData("feature-barrier", "yes")]
    [InlineData("max-ring-page-order", "9")]
    [InlineData("multi-queue-max-queues", "0")]
    [InlineData("discard-granularity", "2147487744")]
    public void A_malformed_backend_key_is_refused(string key, string value)
    {
        var keys = BlkifXenstoreKeys.Backend(Full).Where(k => k.Key != key).Append(new(key, value));
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseBackend(Reader(keys)));
    }

    [Fact]
    public void Sectors_count_512_byte_units_whatever_the_sector_size()
    {
        var info = BlkifXenstoreKeys.ParseBackend(Reader([new("sectors", "2048"), new("sector-size", "4096")]));
        Assert.Equal(1L << 20, info.Length);
    }

    [Fact]
    public void Sectors_that_are_not_whole_logical_sectors_are_refused() =>
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseBackend(Reader([new("sectors", "2047"), new("sector-size", "4096")])));

    [Fact]
    public void The_toolstack_gives_the_frontend_its_virtual_device_and_device_type()
    {
        var keys = BlkifXenstoreKeys.ToolstackFrontend(51712).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("51712", keys["virtual-device"]);
        Assert.Equal("disk", keys["device-type"]);
    }

    [Theory]
    [InlineData(false, "w")]
    [InlineData(true, "r")]
    public void The_toolstack_gives_the_backend_online_mode_device_type_and_params(bool readOnly, string mode)
    {
        var keys = BlkifXenstoreKeys.ToolstackBackend(readOnly, "/images/disk.img").ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("1", keys["online"]);
        Assert.Equal(mode, keys["mode"]);
        Assert.Equal("disk", keys["device-type"]);
        Assert.Equal("/images/disk.img", keys["params"]);
        Assert.DoesNotContain("params", BlkifXenstoreKeys.ToolstackBackend(readOnly).Select(k => k.Key));
    }

    [Fact]
    public void Backend_info_without_sectors_is_refused() =>
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseBackend(Reader([])));

    [Fact]
    public void One_queue_of_one_page_writes_ring_ref_and_event_channel()
    {
        var info = new BlkifFrontendInfo(0, [new BlkifRingInfo([new GrantRef(8)], new Port(5))], true);
        var keys = BlkifXenstoreKeys.Frontend(info).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("8", keys["ring-ref"]);
        Assert.Equal("5", keys["event-channel"]);
        Assert.Equal("x86_64-abi", keys["protocol"]);
        Assert.DoesNotContain("ring-page-order", keys.Keys);
        Assert.DoesNotContain("multi-queue-num-queues", keys.Keys);
    }

    [Fact]
    public void Two_queues_of_two_pages_write_the_headers_example_keys()
    {
        var info = new BlkifFrontendInfo(1, [
            new BlkifRingInfo([new GrantRef(10), new GrantRef(11)], new Port(3)),
            new BlkifRingInfo([new GrantRef(12), new GrantRef(13)], new Port(4))], false);
        var keys = BlkifXenstoreKeys.Frontend(info).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("2", keys["multi-queue-num-queues"]);
        Assert.Equal("1", keys["ring-page-order"]);
        Assert.Equal("10", keys["queue-0/ring-ref0"]);
        Assert.Equal("11", keys["queue-0/ring-ref1"]);
        Assert.Equal("3", keys["queue-0/event-channel"]);
        Assert.Equal("13", keys["queue-1/ring-ref1"]);
        Assert.Equal("4", keys["queue-1/event-channel"]);
        Assert.DoesNotContain("event-channel", keys.Keys);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 1)]
    [InlineData(2, 3)]
    public void Frontend_keys_read_back_as_the_same_rings(int order, int queues)
    {
        var info = new BlkifFrontendInfo(order,
            [.. Enumerable.Range(0, queues).Select(q => new BlkifRingInfo([.. Enumerable.Range(0, 1 << order).Select(i => new GrantRef((uint)(100 * q + i + 8)))], new Port((uint)(q + 1))))],
            true);
        var back = BlkifXenstoreKeys.ParseFrontend(Reader(BlkifXenstoreKeys.Frontend(info)));
        Assert.Equal(info.RingPageOrder, back.RingPageOrder);
        Assert.Equal(info.FeaturePersistent, back.FeaturePersistent);
        Assert.Equal(info.Queues.Select(q => (string.Join(",", q.RingRefs), q.EventChannel)), back.Queues.Select(q => (string.Join(",", q.RingRefs), q.EventChannel)));
    }

    [Fact]
    public void A_frontend_without_an_event_channel_is_refused() =>
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseFrontend(Reader([new("ring-ref", "8")])));

    [Fact]
    public void A_frontend_missing_one_of_its_ring_refs_is_refused() =>
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseFrontend(Reader([new("ring-page-order", "1"), new("ring-ref0", "8"), new("event-channel", "3")])));

    [Fact]
    public void A_frontend_ring_order_past_the_limit_is_refused() =>
        Assert.Throws<InvalidDataException>(() => BlkifXenstoreKeys.ParseFrontend(Reader([new("ring-page-order", "5"), new("event-channel", "3")])));
}
