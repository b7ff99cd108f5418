using System.Globalization;
using System.Net.NetworkInformation;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Netif;

/// <summary>
/// The netif keys in Xenstore, as Linux's netfront and netback write and read them: what the backend
/// offers under <c>backend/vif/&lt;fe&gt;/&lt;n&gt;/</c>, and the frontend's rings, event channels and
/// requests under <c>device/vif/&lt;n&gt;/</c> (flat for one queue, under <c>queue-&lt;i&gt;/</c> for several).
/// </summary>
public static class NetifXenstore
{
    /// <summary>The Xenbus device type of a network interface.</summary>
    public const string DeviceType = "vif";

    /// <summary>The keys a backend publishes before it moves to <see cref="XenbusState.InitWait"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> BackendKeys(NetbackFeatures offered)
    {
        ArgumentNullException.ThrowIfNull(offered);
        offered.Validate();
        return
        [
            new("feature-rx-copy", "1"),
            new("feature-sg", Flag(offered.Sg)),
            new("feature-gso-tcpv4", Flag(offered.GsoTcpV4)),
            new("feature-gso-tcpv6", Flag(offered.GsoTcpV6)),
            new("feature-ipv6-csum-offload", Flag(offered.Ipv6CsumOffload)),
            new("feature-split-event-channels", Flag(offered.SplitEventChannels)),
            new("multi-queue-max-queues", Number(offered.MaxQueues)),
            new("mtu", Number(offered.Mtu)),
        ];
    }

    /// <summary>Reads what the backend at <paramref name="backendPath"/> offers; a missing key is the feature off
    /// (one queue, an MTU of 1500).</summary>
    /// <exception cref="NetifProtocolException">The backend does not offer rx-copy, or a value is malformed or out of range.</exception>
    public static async Task<NetbackFeatures> ReadBackendAsync(XenstoreOperations store, string backendPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        async Task<long?> Read(string key) => Parse(backendPath + "/" + key, await store.TryReadAsync(backendPath + "/" + key, cancellationToken).ConfigureAwait(false));
        if (await Read("feature-rx-copy").ConfigureAwait(false) is not 1)
            throw new NetifProtocolException($"The backend at {backendPath} does not offer feature-rx-copy, the only rx mode this netfront has.");
        var features = new NetbackFeatures
        {
            Sg = await Read("feature-sg").ConfigureAwait(false) is > 0,
            GsoTcpV4 = await Read("feature-gso-tcpv4").ConfigureAwait(false) is > 0,
            GsoTcpV6 = await Read("feature-gso-tcpv6").ConfigureAwait(false) is > 0,
            Ipv6CsumOffload = await Read("feature-ipv6-csum-offload").ConfigureAwait(false) is > 0,
            SplitEventChannels = await Read("feature-split-event-channels").ConfigureAwait(false) is > 0,
            MaxQueues = (int)Math.Min(await Read("multi-queue-max-queues").ConfigureAwait(false) ?? 1, int.MaxValue),
            Mtu = (int)Math.Min(await Read("mtu").ConfigureAwait(false) ?? 1500, int.MaxValue),
        };
        try
        {
            features.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new NetifProtocolException($"The backend at {backendPath} offers {e.ParamName} = {e.ActualValue}: {e.Message}");
        }
        return features;
    }

    /// <summary>Writes the frontend's keys for <paramref name="rendezvous"/> under <paramref name="frontendPath"/>,
    /// in the caller's transaction.</summary>
    public static async Task WriteFrontendAsync(XenstoreOperations transaction, string frontendPath, NetfrontRendezvous rendezvous, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(rendezvous);
        Task Write(string key, string value) => transaction.WriteAsync(frontendPath + "/" + key, value, cancellationToken);
        var queues = rendezvous.Queues;
        // Keys of an earlier connection in the other layout would mislead the backend.
        foreach (var key in await transaction.DirectoryAsync(frontendPath, cancellationToken).ConfigureAwait(false))
        {
            if (key.StartsWith("queue-", StringComparison.Ordinal) || key is "multi-queue-num-queues" or "event-channel" or "event-channel-tx" or "event-channel-rx")
                await transaction.RmAsync(frontendPath + "/" + key, cancellationToken).ConfigureAwait(false);
        }
        if (queues.Count == 1)
        {
            await WriteQueueAsync(transaction, frontendPath, queues[0], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Write("multi-queue-num-queues", Number(queues.Count)).ConfigureAwait(false);
            for (var i = 0; i < queues.Count; i++)
                await WriteQueueAsync(transaction, frontendPath + "/queue-" + Number(i), queues[i], cancellationToken).ConfigureAwait(false);
        }
        var f = rendezvous.Features;
        await Write("request-rx-copy", "1").ConfigureAwait(false);
        await Write("feature-rx-notify", "1").ConfigureAwait(false);
        await Write("feature-sg", Flag(f.Sg)).ConfigureAwait(false);
        await Write("feature-gso-tcpv4", Flag(f.GsoTcpV4)).ConfigureAwait(false);
        await Write("feature-gso-tcpv6", Flag(f.GsoTcpV6)).ConfigureAwait(false);
        await Write("feature-ipv6-csum-offload", Flag(f.Ipv6CsumOffload)).ConfigureAwait(false);
    }

    /// <summary>Reads the rendezvous the frontend of <paramref name="frontendDomain"/> published under <paramref name="frontendPath"/>.</summary>
    /// <exception cref="NetifProtocolException">A key is missing or malformed, or the frontend does not ask for rx-copy.</exception>
    public static async Task<NetfrontRendezvous> ReadFrontendAsync(XenstoreOperations store, string frontendPath, ushort frontendDomain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        async Task<long?> Read(string key) => Parse(frontendPath + "/" + key, await store.TryReadAsync(frontendPath + "/" + key, cancellationToken).ConfigureAwait(false));
        if (await Read("request-rx-copy").ConfigureAwait(false) is not 1)
            throw new NetifProtocolException($"The frontend at {frontendPath} does not ask for request-rx-copy, the only rx mode this netback has.");
        var count = await Read("multi-queue-num-queues").ConfigureAwait(false);
        if (count is < 1 or > NetbackFeatures.QueueLimit)
            throw new NetifProtocolException($"The frontend at {frontendPath} asks for {count} queues.");
        // One queue's keys are flat even when multi-queue-num-queues says 1: Linux's netfront writes it
        // whenever the backend offers multi-queue-max-queues, and its netback reads it this way.
        var queues = new NetifQueueRefs[count ?? 1];
        if (queues.Length == 1)
            queues[0] = await ReadQueueAsync(store, frontendPath, cancellationToken).ConfigureAwait(false);
        else
            for (var i = 0; i < queues.Length; i++)
                queues[i] = await ReadQueueAsync(store, frontendPath + "/queue-" + Number(i), cancellationToken).ConfigureAwait(false);
        var features = new NetfrontFeatures
        {
            Sg = await Read("feature-sg").ConfigureAwait(false) is > 0,
            GsoTcpV4 = await Read("feature-gso-tcpv4").ConfigureAwait(false) is > 0,
            GsoTcpV6 = await Read("feature-gso-tcpv6").ConfigureAwait(false) is > 0,
            Ipv6CsumOffload = await Read("feature-ipv6-csum-offload").ConfigureAwait(false) is > 0,
        };
        return new NetfrontRendezvous(frontendDomain, features, queues);
    }

    /// <summary>Reads the frontend's <c>mac</c> (<c>aa:bb:cc:dd:ee:ff</c>, written by the toolstack); null when there is none.</summary>
    /// <exception cref="NetifProtocolException">The value is not a MAC address.</exception>
    public static async Task<PhysicalAddress?> ReadMacAsync(XenstoreOperations store, string frontendPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var text = await store.TryReadAsync(frontendPath + "/mac", cancellationToken).ConfigureAwait(false);
        if (text is null)
            return null;
        return TryParseMac(text, out var mac) ? mac : throw new NetifProtocolException($"{frontendPath}/mac is '{text}', not a MAC address.");
    }

    /// <summary>Formats a MAC address as Xenstore holds it: <c>00:16:3e:01:02:03</c>.</summary>
    public static string FormatMac(PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        return string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    /// <summary>Parses <c>00:16:3e:01:02:03</c> (or with dashes); false unless it is six bytes.</summary>
    public static bool TryParseMac(string text, out PhysicalAddress mac)
    {
        mac = PhysicalAddress.None;
        var parts = text.Split(':', '-');
        if (parts.Length != 6)
            return false;
        var bytes = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length is < 1 or > 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
                return false;
        }
        mac = new PhysicalAddress(bytes);
        return true;
    }

    private static async Task WriteQueueAsync(XenstoreOperations tx, string path, NetifQueueRefs q, CancellationToken cancellationToken)
    {
        await tx.WriteAsync(path + "/tx-ring-ref", Number(q.TxRingRef.Value), cancellationToken).ConfigureAwait(false);
        await tx.WriteAsync(path + "/rx-ring-ref", Number(q.RxRingRef.Value), cancellationToken).ConfigureAwait(false);
        if (q.SplitEventChannels)
        {
            await tx.WriteAsync(path + "/event-channel-tx", Number(q.TxEventChannel.Value), cancellationToken).ConfigureAwait(false);
            await tx.WriteAsync(path + "/event-channel-rx", Number(q.RxEventChannel.Value), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await tx.WriteAsync(path + "/event-channel", Number(q.TxEventChannel.Value), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<NetifQueueRefs> ReadQueueAsync(XenstoreOperations store, string path, CancellationToken cancellationToken)
    {
        async Task<uint?> Read(string key)
        {
            var value = Parse(path + "/" + key, await store.TryReadAsync(path + "/" + key, cancellationToken).ConfigureAwait(false));
            return value is > uint.MaxValue ? throw new NetifProtocolException($"{path}/{key} is out of range.") : (uint?)value;
        }
        var tx = await Read("tx-ring-ref").ConfigureAwait(false) ?? throw Missing(path, "tx-ring-ref");
        var rx = await Read("rx-ring-ref").ConfigureAwait(false) ?? throw Missing(path, "rx-ring-ref");
        var shared = await Read("event-channel").ConfigureAwait(false);
        var txPort = shared ?? await Read("event-channel-tx").ConfigureAwait(false) ?? throw Missing(path, "event-channel");
        var rxPort = shared ?? await Read("event-channel-rx").ConfigureAwait(false) ?? throw Missing(path, "event-channel-rx");
        return new NetifQueueRefs(new GrantRef(tx), new GrantRef(rx), new Port(txPort), new Port(rxPort));
    }

    private static NetifProtocolException Missing(string path, string key) => new($"The frontend did not write {path}/{key}.");

    private static long? Parse(string path, string? text)
    {
        if (text is null)
            return null;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new NetifProtocolException($"{path} is '{text}', not a number.");
    }

    private static string Flag(bool on) => on ? "1" : "0";

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
}
