using System.Buffers.Binary;
using Vchan;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Mirage.Fuzz;

/// <summary>
/// Vchan control pages: a hostile peer writes the shared control page (ring orders, grant refs,
/// indices, live and notify bytes). As a server, the fuzzer builds the page a real client then
/// connects to; as a client, it scribbles on a real server's page. Between writes the real end reads,
/// writes and reports its state. The only rejections allowed are <see cref="VchanProtocolException"/>,
/// <see cref="IOException"/> (the peer closed) and <see cref="GrantException"/> (a ring page that
/// cannot be mapped, at connect).
/// </summary>
/// <remarks>
/// Input: a mode byte (bit 0: 0 the fuzzer is the client, 1 the fuzzer is the server), then for a
/// hostile client the two ring sizes the server asks for (a byte each, in 64-byte units), for a hostile
/// server the 24-byte header and eight uint grant refs (0-3 name the server's four ring pages); then
/// operations of one byte each with their arguments.
/// </remarks>
public sealed class VchanControlTarget : FuzzTarget
{
    private const ushort ServerDomain = 1, ClientDomain = 2;
    private const int HeaderSize = 24;

    public override string Name => "vchan";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var hostileServer = (script.Byte() & 1) != 0;
        using var events = new InHeapEventHub();
        using var grants = new InHeapGrantHub();
        using var server = Xen.InHeap.InHeapDomain.Open(events, grants, ServerDomain);
        using var client = Xen.InHeap.InHeapDomain.Open(events, grants, ClientDomain);
        try
        {
            if (hostileServer)
                AgainstServer(ref script, server, client);
            else
                AgainstClient(ref script, server, client);
        }
        catch (Exception e) when (e is IOException)
        {
            // VchanProtocolException, a closed peer, or a ring page that cannot be mapped.
        }
    }

    // The fuzzer is the client: a real server listens, the fuzzer maps its control page.
    private static void AgainstClient(ref FuzzInput script, Xen.InHeap.InHeapDomain server, Xen.InHeap.InHeapDomain client)
    {
        int leftMin = script.Byte() * 64, rightMin = script.Byte() * 64;
        using var end = VchanEndpoint.Listen(server.Events, server.Memory, ClientDomain, leftMin, rightMin);
        var control = client.Memory.Map(ServerDomain, end.Rendezvous.ControlPage, writable: true);
        try
        {
            Exercise(ref script, end, control.Span);
        }
        finally
        {
            client.Memory.Unmap(control);
        }
    }

    // The fuzzer is the server: it writes a control page and a real client connects to it.
    private static void AgainstServer(ref FuzzInput script, Xen.InHeap.InHeapDomain server, Xen.InHeap.InHeapDomain client)
    {
        using var control = server.Memory.Share(ClientDomain, 1, writable: true);
        using var rings = server.Memory.Share(ClientDomain, 4, writable: true);
        script.Take(HeaderSize).CopyTo(control.Span);
        for (var i = 0; i < 8; i++)
        {
            var gref = InHeapPeers.Ref(script.UInt32(), rings.Refs);
            BinaryPrimitives.WriteUInt32LittleEndian(control.Span[(HeaderSize + (4 * i))..], gref.Value);
        }
        var (port, channel) = server.Events.Listen(ClientDomain);
        try
        {
            using var end = VchanEndpoint.Connect(client.Events, client.Memory, ServerDomain, new VchanRendezvous(control.Refs[0], port));
            Exercise(ref script, end, control.Span);
        }
        finally
        {
            server.Events.Close(channel);
        }
    }

    private static void Exercise(ref FuzzInput script, VchanEndpoint end, Span<byte> control)
    {
        Span<byte> buffer = stackalloc byte[8192];
        while (!script.IsEmpty)
        {
            switch (script.Byte() % 7)
            {
                case 0:
                    BinaryPrimitives.WriteUInt32LittleEndian(control[(script.Byte() % 4 * 4)..], script.UInt32());
                    break;
                case 1:
                    control[16 + (script.Byte() % 8)] = script.Byte();
                    break;
                case 2:
                {
                    var want = script.UInt16() % buffer.Length;
                    var got = end.TryRead(buffer[..want]);
                    if ((uint)got > (uint)want)
                        throw new FuzzFinding($"TryRead returned {got} bytes for a {want}-byte buffer.");
                    break;
                }
                case 3:
                {
                    var want = script.UInt16() % buffer.Length;
                    var put = end.TryWrite(buffer[..want]);
                    if ((uint)put > (uint)want)
                        throw new FuzzFinding($"TryWrite took {put} bytes of {want}.");
                    break;
                }
                case 4:
                    if ((uint)end.DataReady > (uint)end.ReadRingSize)
                        throw new FuzzFinding($"DataReady {end.DataReady} in a ring of {end.ReadRingSize}.");
                    break;
                case 5:
                    if ((uint)end.BufferSpace > (uint)end.WriteRingSize)
                        throw new FuzzFinding($"BufferSpace {end.BufferSpace} in a ring of {end.WriteRingSize}.");
                    break;
                default:
                    _ = end.State;
                    break;
            }
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        // Hostile client of a server with the smallest rings: writes 10 bytes as the client would
        // (left.prod), then the server reads them and writes back.
        yield return ("client-writes", new SeedWriter().Byte(0).Byte(0).Byte(0)
            .Byte(0).Byte(1).UInt32(10).Byte(4).Byte(2).UInt16(100).Byte(3).UInt16(20).Byte(5).Byte(6).ToArray());
        // Hostile client of a server with page-sized rings; moves right.cons past prod.
        yield return ("client-bad-cons", new SeedWriter().Byte(0).Byte(64).Byte(128)
            .Byte(3).UInt16(100).Byte(0).Byte(2).UInt32(5000).Byte(3).UInt16(10).ToArray());
        // Hostile server with in-page rings (orders 10 and 11), both sides live.
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(16), 10);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), 11);
        header[20] = 2;
        header[21] = 1;
        var grants = new SeedWriter();
        for (uint i = 0; i < 8; i++)
            grants.UInt32(i % 4);
        yield return ("server-in-page", new SeedWriter().Byte(1).Bytes(header).Bytes(grants.ToArray())
            .Byte(0).Byte(3).UInt32(8).Byte(2).UInt16(64).Byte(3).UInt16(64).Byte(4).Byte(5).Byte(6).ToArray());
        // Hostile server with one-page rings (order 12) in granted pages.
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(16), 12);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), 12);
        yield return ("server-paged", new SeedWriter().Byte(1).Bytes(header).Bytes(grants.ToArray())
            .Byte(3).UInt16(4000).Byte(2).UInt16(10).Byte(6).ToArray());
    }
}
