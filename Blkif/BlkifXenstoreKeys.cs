using System.Globalization;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// The Xenstore keys of <c>blkif.h</c>: what the backend writes under its directory and the
/// frontend under its own, to and from <see cref="BlkifBackendInfo"/> and
/// <see cref="BlkifFrontendInfo"/>. Keys are relative to the device directory; missing keys take
/// the header's defaults; a malformed value is an <see cref="InvalidDataException"/> that names it.
/// </summary>
public static class BlkifXenstoreKeys
{
    /// <summary><c>device-type</c> of a disk; the toolstack writes it in both directories (the other value is <c>cdrom</c>).</summary>
    public const string DeviceTypeDisk = "disk";

    /// <summary>
    /// What the toolstack writes in the frontend's directory when it creates the device, before any
    /// driver looks: <c>virtual-device</c>, the device number in Linux's encoding (51712 = 202 &lt;&lt; 8 is
    /// xvda), and <c>device-type</c>. Linux's blkfront reads <c>virtual-device</c> (or
    /// <c>virtual-device-ext</c>) in its probe and fails it with -ENOENT when both are missing; an HVM
    /// guest's blkfront also refuses a device without <c>device-type</c>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToolstackFrontend(uint virtualDevice) =>
    [
        new("virtual-device", Number(virtualDevice)),
        new("device-type", DeviceTypeDisk),
    ];

    /// <summary>
    /// What the toolstack writes in the backend's directory when it creates the device, as xl does:
    /// <c>online</c> 1 (the device stays when the frontend closes it), <c>mode</c> (<c>r</c> or
    /// <c>w</c>), <c>device-type</c>, and <c>params</c>, what the backend serves (an image's path),
    /// when given. The backend publishes the disk's own keys later (<see cref="Backend"/>).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToolstackBackend(bool readOnly, string? parameters = null)
    {
        var keys = new List<KeyValuePair<string, string>>
        {
            new("online", "1"),
            new("mode", readOnly ? "r" : "w"),
            new("device-type", DeviceTypeDisk),
        };
        if (parameters is not null)
            keys.Add(new("params", parameters));
        return keys;
    }

    /// <summary>The backend's keys for <paramref name="info"/>: features, transport limits and disk properties.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Backend(BlkifBackendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var keys = new List<KeyValuePair<string, string>>
        {
            new("sectors", Number(info.Sectors)),
            new("sector-size", Number((ulong)info.SectorSize)),
            new("physical-sector-size", Number((ulong)info.PhysicalSectorSize)),
            new("info", Number((ulong)info.Info)),
            new("mode", info.ReadOnly ? "r" : "w"),
            new("feature-flush-cache", Flag(info.FeatureFlushCache)),
            new("feature-barrier", Flag(info.FeatureBarrier)),
            new("feature-discard", Flag(info.FeatureDiscard)),
            new("feature-persistent", Flag(info.FeaturePersistent)),
            new("max-ring-page-order", Number((ulong)info.MaxRingPageOrder)),
            new("multi-queue-max-queues", Number((ulong)info.MaxQueues)),
        };
        if (info.FeatureDiscard)
        {
            keys.Add(new("discard-granularity", Number(info.DiscardGranularity)));
            keys.Add(new("discard-alignment", Number(info.DiscardAlignment)));
            keys.Add(new("discard-secure", Flag(info.DiscardSecure)));
        }
        // A backend that does not do indirect requests must not write the key at all.
        if (info.MaxIndirectSegments > 0)
            keys.Add(new("feature-max-indirect-segments", Number((ulong)info.MaxIndirectSegments)));
        return keys;
    }

    /// <summary>Reads what a backend published; <paramref name="read"/> gives a key's value or null when it is missing.</summary>
    /// <exception cref="InvalidDataException">A value is malformed or out of range, or <c>sectors</c> is missing.</exception>
    public static BlkifBackendInfo ParseBackend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var sectorSize = (int)Number(read, "sector-size", BlkifConstants.SectorSize, 4096);
        var info = (VdiskInfo)Number(read, "info", 0, uint.MaxValue);
        if (read("mode") is "r" or "ro")
            info |= VdiskInfo.ReadOnly;
        var discard = Flag(read, "feature-discard");
        var result = new BlkifBackendInfo
        {
            Sectors = read("sectors") is null ? throw new InvalidDataException("The backend has not published 'sectors'.") : Number(read, "sectors", 0, ulong.MaxValue),
            SectorSize = sectorSize,
            PhysicalSectorSize = (int)Number(read, "physical-sector-size", (ulong)sectorSize, 1 << 20),
            Info = info,
            FeatureFlushCache = Flag(read, "feature-flush-cache"),
            FeatureBarrier = Flag(read, "feature-barrier"),
            FeatureDiscard = discard,
            DiscardGranularity = discard ? (uint)Number(read, "discard-granularity", (ulong)sectorSize, uint.MaxValue) : 0,
            DiscardAlignment = discard ? (uint)Number(read, "discard-alignment", 0, uint.MaxValue) : 0,
            DiscardSecure = discard && Flag(read, "discard-secure"),
            FeaturePersistent = Flag(read, "feature-persistent"),
            MaxIndirectSegments = (int)Number(read, "feature-max-indirect-segments", 0, int.MaxValue),
            MaxRingPageOrder = (int)Number(read, "max-ring-page-order", 0, 31),
            MaxQueues = (int)Number(read, "multi-queue-max-queues", 1, int.MaxValue),
        };
        result.Validate();
        return result;
    }

    /// <summary>The transport limits a backend publishes before the frontend connects, or their defaults.</summary>
    /// <exception cref="InvalidDataException">A value is malformed.</exception>
    public static (int MaxRingPageOrder, int MaxQueues, bool FeaturePersistent) ParseBackendTransport(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return ((int)Number(read, "max-ring-page-order", 0, 31), (int)Number(read, "multi-queue-max-queues", 1, int.MaxValue), Flag(read, "feature-persistent"));
    }

    /// <summary>
    /// The frontend's keys for <paramref name="info"/>: with one queue, <c>ring-ref</c> (one page) or
    /// <c>ring-page-order</c> and <c>ring-ref0..N</c>, and <c>event-channel</c> at the top; with several,
    /// <c>multi-queue-num-queues</c> and the same keys under <c>queue-&lt;i&gt;/</c>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Frontend(BlkifFrontendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var keys = new List<KeyValuePair<string, string>>
        {
            new("protocol", info.Protocol),
            new("feature-persistent", Flag(info.FeaturePersistent)),
        };
        if (info.RingPageOrder > 0)
        {
            keys.Add(new("ring-page-order", Number((ulong)info.RingPageOrder)));
            keys.Add(new("num-ring-pages", Number(1UL << info.RingPageOrder)));
        }
        if (info.Queues.Count > 1)
            keys.Add(new("multi-queue-num-queues", Number((ulong)info.Queues.Count)));
        for (var q = 0; q < info.Queues.Count; q++)
        {
            var prefix = info.Queues.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $"queue-{q}/") : "";
            var queue = info.Queues[q];
            if (info.RingPageOrder == 0)
                keys.Add(new(prefix + "ring-ref", queue.RingRefs[0].ToString()));
            else
                for (var i = 0; i < queue.RingRefs.Count; i++)
                    keys.Add(new(string.Create(CultureInfo.InvariantCulture, $"{prefix}ring-ref{i}"), queue.RingRefs[i].ToString()));
            keys.Add(new(prefix + "event-channel", queue.EventChannel.ToString()));
        }
        return keys;
    }

    /// <summary>Reads what a frontend published; <paramref name="read"/> gives a key's value or null when it is missing.</summary>
    /// <exception cref="InvalidDataException">A key is missing or malformed.</exception>
    public static BlkifFrontendInfo ParseFrontend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var order = (int)Number(read, "ring-page-order", 0, BlkifLimits.MaxRingPageOrder);
        var count = (int)Number(read, "multi-queue-num-queues", 1, 1024);
        if (count < 1)
            throw new InvalidDataException("multi-queue-num-queues must be at least 1.");
        var queues = new BlkifRingInfo[count];
        for (var q = 0; q < count; q++)
        {
            var prefix = count > 1 ? string.Create(CultureInfo.InvariantCulture, $"queue-{q}/") : "";
            var refs = new GrantRef[1 << order];
            if (order == 0 && read(prefix + "ring-ref") is not null)
                refs[0] = new GrantRef((uint)Number(read, prefix + "ring-ref", 0, uint.MaxValue));
            else
                for (var i = 0; i < refs.Length; i++)
                    refs[i] = new GrantRef((uint)Required(read, string.Create(CultureInfo.InvariantCulture, $"{prefix}ring-ref{i}"), uint.MaxValue));
            queues[q] = new BlkifRingInfo(refs, new Port((uint)Required(read, prefix + "event-channel", uint.MaxValue)));
        }
        return new BlkifFrontendInfo(order, queues, Flag(read, "feature-persistent"), read("protocol") ?? BlkifLimits.ProtocolX86_64);
    }

    private static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Flag(bool value) => value ? "1" : "0";

    private static ulong Number(Func<string, string?> read, string key, ulong fallback, ulong max)
    {
        var text = read(key);
        if (text is null)
            return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > max)
            throw new InvalidDataException($"The key '{key}' holds '{text}', not a number from 0 to {max}.");
        return value;
    }

    private static ulong Required(Func<string, string?> read, string key, ulong max) =>
        read(key) is null ? throw new InvalidDataException($"The key '{key}' is missing.") : Number(read, key, 0, max);

    private static bool Flag(Func<string, string?> read, string key) => Number(read, key, 0, 1) == 1;
}
