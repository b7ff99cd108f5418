using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Vchan.Tests;

/// <summary>A connected server (domain 1) and client (domain 2) over the in-heap backends.</summary>
internal sealed class VchanPair : IDisposable
{
    public const ushort ServerDomain = 1, ClientDomain = 2;

    private readonly Backends _backends;

    private VchanPair(Backends backends, VchanEndpoint server, VchanEndpoint client, PageBuffer control, Action kick)
    {
        _backends = backends;
        Server = server;
        Client = client;
        Control = control;
        KickClient = kick;
    }

    public VchanEndpoint Server { get; }

    public VchanEndpoint Client { get; }

    /// <summary>The shared control page as the server sees it.</summary>
    public PageBuffer Control { get; }

    /// <summary>Sends the client an event from the server's channel, as a peer that wrote would.</summary>
    public Action KickClient { get; }

    public Backends Hubs => _backends;

    public static Backends CreateBackends() => new();

    public static VchanPair Create(int leftMin = 0, int rightMin = 0)
    {
        var b = CreateBackends();
        var server = VchanEndpoint.Listen(b.ServerEvents, b.ServerMemory, ClientDomain, leftMin, rightMin);
        var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, ServerDomain, server.Rendezvous);
        return new VchanPair(b, server, client, server.ControlPage, () => b.ServerEvents.Send(server.Channel));
    }

    public VchanEndpoint End(bool server) => server ? Server : Client;

    /// <summary>Kills one end's domain as a crash would; that end is not touched again.</summary>
    public void Kill(bool server)
    {
        _killed = server ? ServerDomain : ClientDomain;
        _backends.Kill(_killed.Value);
    }

    private ushort? _killed;

    public void Dispose()
    {
        if (_killed != ClientDomain)
            Client.Dispose();
        if (_killed != ServerDomain)
            Server.Dispose();
        _backends.Dispose();
    }

    /// <summary>Two in-heap domains on their own hubs.</summary>
    internal sealed class Backends : IDisposable
    {
        public Backends()
        {
            ServerDomainHandle = InHeapDomain.Open(EventHub, GrantHub, ServerDomain);
            ClientDomainHandle = InHeapDomain.Open(EventHub, GrantHub, ClientDomain);
        }

        public InHeapEventHub EventHub { get; } = new();
        public InHeapGrantHub GrantHub { get; } = new();
        public InHeapDomain ServerDomainHandle { get; }
        public InHeapDomain ClientDomainHandle { get; }
        public InHeapEvents ServerEvents => ServerDomainHandle.Events;
        public InHeapEvents ClientEvents => ClientDomainHandle.Events;
        public InHeapMemory ServerMemory => ServerDomainHandle.Memory;
        public InHeapMemory ClientMemory => ClientDomainHandle.Memory;

        /// <summary>Kills a domain as a crash would: its unmap notifications fire, its channels close.</summary>
        public void Kill(ushort domain)
        {
            GrantHub.Kill(domain);
            EventHub.Kill(domain);
        }

        public void Dispose()
        {
            ClientDomainHandle.Dispose();
            ServerDomainHandle.Dispose();
            GrantHub.Dispose();
            EventHub.Dispose();
        }
    }
}
