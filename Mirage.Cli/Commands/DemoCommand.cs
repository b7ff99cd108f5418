using System.CommandLine;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharedMemoryRing;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage demo</c>: the drivers at work, step by step, with their throughput: a ring pair between
/// two domains inside this process, then a vchan between two processes (DemoCommand.Vchan.cs), then
/// netfront and netback in two processes (NetifDemo.cs).
/// </summary>
internal static partial class DemoCommand
{
    public static Command Create()
    {
        var requests = new Option<int>("--requests")
        {
            Description = "How many requests cross the ring.",
            DefaultValueFactory = _ => 2_000_000,
        };
        var vchanMebibytes = new Option<int>("--vchan-mib")
        {
            Description = "How many MiB cross the vchan, and then the Unix socket.",
            DefaultValueFactory = _ => 1024,
        };
        var png = new Option<string>("--png")
        {
            Description = "Where the framebuffer step saves what its VNC client saw.",
            DefaultValueFactory = _ => "mirage-demo-screen.png",
        };
        var only = new Option<string?>("--only")
        {
            Description = "Run one step: ring, vchan, netif or framebuffer.",
        }.AcceptOnlyFromAmong("ring", "vchan", "netif", "framebuffer");
        var command = new Command("demo", "Show the drivers at work, with their throughput: a ring in-heap, a vchan between two processes beside a Unix socket, netfront and netback in two processes, then the PV framebuffer and keyboard over VNC.")
        {
            requests, vchanMebibytes, png, only, PeerOption,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(PeerOption) is { } role)
                return await RunPeerAsync(role, cancellationToken).ConfigureAwait(false);
            var step = parse.GetValue(only);
            if (step is null or "ring")
                await RingPairAsync(parse.GetValue(requests), cancellationToken).ConfigureAwait(false);
            if (step is null or "vchan")
                await VchanBetweenProcessesAsync((long)parse.GetValue(vchanMebibytes) << 20, cancellationToken).ConfigureAwait(false);
            if (step is null or "netif")
            {
                Console.WriteLine();
                if (await NetifDemo.RunAsync(cancellationToken).ConfigureAwait(false) != 0)
                    return 1;
            }
            if (step is null or "framebuffer")
            {
                Console.WriteLine();
                return await FramebufferDemo.RunAsync(parse.GetValue(png)!, cancellationToken).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    // A request and its response, shaped like netif's transmit ring.
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Request(uint Gref, ushort Offset, ushort Flags, ushort Id, ushort Size);

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Response(ushort Id, short Status);

    private static async Task RingPairAsync(int count, CancellationToken cancellationToken)
    {
        Console.WriteLine("== A shared ring between two domains, in-heap ==");
        using var eventHub = new InHeapEventHub();
        using var grantHub = new InHeapGrantHub();
        using var guest = InHeapDomain.Open(new InHeapDomainOptions { Domain = 1, EventHub = eventHub, GrantHub = grantHub });
        using var dom0 = InHeapDomain.Open(new InHeapDomainOptions { Domain = 0, EventHub = eventHub, GrantHub = grantHub });
        var (guestEvents, guestMemory, dom0Events, dom0Memory) = (guest.Events, guest.Memory, dom0.Events, dom0.Memory);

        Console.WriteLine("1. Domain 1 (the frontend) shares a page with domain 0 and offers it an event channel.");
        using var share = guestMemory.Share(0, 1, writable: true);
        var (port, guestChannel) = guestEvents.Listen(0);
        Console.WriteLine($"   grant ref {share.Refs[0]}, port {port}: these would go into Xenstore.");

        Console.WriteLine("2. The frontend initialises the ring; domain 0 (the backend) maps the page, attaches and connects.");
        var front = new FrontRingChannel<InHeapEvents, Request, Response>(guestEvents, guestChannel, FrontRing<Request, Response>.Initialise(share));
        using var mapping = dom0Memory.Map(1, share.Refs[0], writable: true);
        var back = new BackRingChannel<InHeapEvents, Request, Response>(dom0Events, dom0Events.Connect(1, port), BackRing<Request, Response>.Attach(mapping));
        Console.WriteLine($"   {front.Ring.Size} entries of {SharedRingLayout.SlotSize<Request, Response>()} bytes in one 4096-byte page.");

        Console.WriteLine($"3. {count:N0} requests cross the ring on two threads and come back answered.");
        var clock = Stopwatch.StartNew();
        var backend = Task.Run(() => AnswerAsync(back, count, cancellationToken), cancellationToken);
        var (ok, frontNotifications) = await Task.Run(() => SendAsync(front, count, cancellationToken), cancellationToken).ConfigureAwait(false);
        var backNotifications = await backend.ConfigureAwait(false);
        clock.Stop();
        Console.WriteLine($"   {ok:N0} answered OK in {clock.Elapsed.TotalMilliseconds:N0} ms: {count / clock.Elapsed.TotalSeconds:N0} requests/s.");
        Console.WriteLine($"   {frontNotifications + backNotifications:N0} event notifications for {2L * count:N0} ring entries: " +
            "each side notifies only when the other asked before sleeping.");
    }

    // Each side's counters, padded onto cache lines of their own: the two sides run on two threads.
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct Counters
    {
        public int Sent, Answered, Ok;
        public long Notifications;
    }

    // The loops do their work in synchronous steps and await only to sleep: an async method's locals
    // live in a heap object once it has waited, and the two sides' objects could share a cache line.
    private static async Task<(int Ok, long Notifications)> SendAsync(FrontRingChannel<InHeapEvents, Request, Response> front, int count, CancellationToken cancellationToken)
    {
        var counters = new Counters[1];
        while (counters[0].Answered < count)
        {
            if (!Send(front, ref counters[0], count))
                await front.WaitForResponsesAsync(cancellationToken).ConfigureAwait(false);
        }
        return (counters[0].Ok, counters[0].Notifications);
    }

    // Optimised from the first call: a short demo does not run long enough for tiered compilation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Send(FrontRingChannel<InHeapEvents, Request, Response> front, ref Counters c, int count)
    {
        var before = c.Answered;
        while (front.Ring.TryReadResponse(out var response))
        {
            c.Answered++;
            c.Ok += response.Status == 0 ? 1 : 0;
        }
        while (c.Sent < count && front.Ring.TryWriteRequest(new Request((uint)c.Sent + 8, 0, 0, (ushort)c.Sent, 1514)))
            c.Sent++;
        if (front.PushRequests())
            c.Notifications++;
        return c.Answered != before;
    }

    private static async Task<long> AnswerAsync(BackRingChannel<InHeapEvents, Request, Response> back, int count, CancellationToken cancellationToken)
    {
        var counters = new Counters[1];
        while (counters[0].Answered < count)
        {
            await back.WaitForRequestsAsync(cancellationToken).ConfigureAwait(false);
            Answer(back, ref counters[0]);
        }
        return counters[0].Notifications;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Answer(BackRingChannel<InHeapEvents, Request, Response> back, ref Counters c)
    {
        while (back.Ring.TryReadRequest(out var request))
        {
            back.Ring.WriteResponse(new Response(request.Id, 0));
            c.Answered++;
        }
        if (back.PushResponses())
            c.Notifications++;
    }
}
