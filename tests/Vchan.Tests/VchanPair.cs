using Vchan.Tests.Loopback;
using Xen.Gnt;

namespace Vchan.Tests;

/// <summary>A connected server (domain 1) and client (domain 2) in this process.</summary>
internal sealed class VchanPair : IDisposable
{
    public const ushort ServerDomain = 1, ClientDomain = 2;

    private VchanPair(VchanEndpoint server, VchanEndpoint client, PageBuffer control, Action kick)
    {
        KickClient = kick;
        Server = server;
        Client = client;
        Control = control;
    }

    public VchanEndpoint Server { get; }

    /// <summary>Sends the client an event from the server's channel, as a peer that wrote would.</summary>
    public Action KickClient { get; }

    public VchanEndpoint Client { get; }

    /// <summary>The shared control page as the server sees it.</summary>
    public PageBuffer Control { get; }

    public static Backends CreateBackends() => new();

    public static VchanPair Create(int leftMin = 0, int rightMin = 0)
    {
        var b = CreateBackends();
        var server = VchanEndpoint.Listen(b.ServerEvents, b.ServerMemory, ClientDomain, leftMin, rightMin);
        var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, ServerDomain, server.Rendezvous);
        return new VchanPair(server, client, server.ControlPage, () => b.ServerEvents.Send(server.Channel));
    }

    public VchanEndpoint End(bool server) => server ? Server : Client;

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }

    internal sealed class Backends
    {
        public Backends()
        {
            var network = new LoopbackSwitch();
            var table = new LoopbackGrantTable();
            ServerEvents = new LoopbackEvents(network, ServerDomain);
            ClientEvents = new LoopbackEvents(network, ClientDomain);
            ServerMemory = new LoopbackMemory(table, ServerEvents);
            ClientMemory = new LoopbackMemory(table, ClientEvents);
        }

        public LoopbackEvents ServerEvents { get; }
        public LoopbackEvents ClientEvents { get; }
        public LoopbackMemory ServerMemory { get; }
        public LoopbackMemory ClientMemory { get; }
    }
}
