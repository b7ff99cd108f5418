using Microsoft.Extensions.DependencyInjection;
using Netif;
using Vchan;

namespace Consumer;

/// <summary>
/// One domain: a service container with the selected backend acting as one domain id, and the
/// drivers registered over it. Nothing here names a backend: <c>AddXenBackend</c>, <c>XenEvents</c>
/// and <c>XenMemory</c> come from the selected backend package.
/// </summary>
internal sealed class Domain : IDisposable
{
    private readonly ServiceProvider _services;

    private Domain(ServiceProvider services, ushort peer)
    {
        _services = services;
        Peer = peer;
    }

    public XenEvents Events => _services.GetRequiredService<XenEvents>();

    public XenMemory Memory => _services.GetRequiredService<XenMemory>();

    /// <summary>Opens vchans with the ring sizes set below.</summary>
    public VchanFactory<XenEvents, XenMemory> Vchans => _services.GetRequiredService<VchanFactory<XenEvents, XenMemory>>();

    /// <summary>Creates netfronts and netbacks; the netbacks offer what is set below.</summary>
    public NetifFactory<XenEvents, XenMemory> Netif => _services.GetRequiredService<NetifFactory<XenEvents, XenMemory>>();

    public ushort Id => Events.LocalDomain;

    /// <summary>The domain this one talks to.</summary>
    public ushort Peer { get; }

    public static Domain Open(ushort id, ushort peer)
    {
        var services = new ServiceCollection()
            .AddXenBackend(id)
            .AddVchan<XenEvents, XenMemory>(o => { o.LeftMin = VchanStep.RingSize; o.RightMin = VchanStep.RingSize; })
            .AddNetif<XenEvents, XenMemory>(o => o.Backend = new NetbackOptions { Features = new NetbackFeatures { MaxQueues = 1 } })
            .BuildServiceProvider();
        try
        {
            _ = services.GetRequiredService<XenMemory>();   // open the backend now: a backend that cannot run here says so at once
            return new Domain(services, peer);
        }
        catch
        {
            services.Dispose();
            throw;
        }
    }

    /// <summary>The container disposes the drivers still open, then the memory (its unmap notifications can still be sent), then the events.</summary>
    public void Dispose() => _services.Dispose();
}
