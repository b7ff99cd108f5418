using System.Runtime.InteropServices;
using SharedMemoryRing;
using SharedMemoryRing.Tests;

namespace Mirage.Fuzz;

/// <summary>
/// The ring index checks: a peer writes any value into the shared indices of a <c>ring.h</c> ring or
/// a byte ring, between the calls of the end under test. The ring sits in a guarded page, so a slot
/// outside it is a SIGSEGV; the only rejection allowed is <see cref="RingProtocolException"/>, and the
/// end's own counters must never claim more entries than the ring holds.
/// </summary>
/// <remarks>
/// Input: a mode byte (0 backend end, 1 frontend end, 2 byte ring), a first index (uint), then
/// operations of one byte each, some with a uint or byte argument.
/// </remarks>
public sealed unsafe class RingIndexTarget : FuzzTarget
{
    private const int ByteRingSize = 1024;
    private const int ByteRingCons = 2 * ByteRingSize, ByteRingProd = ByteRingCons + 4;

    private readonly GuardedPages _page = new(1);

    public override string Name => "rings";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        _page.Span.Clear();
        try
        {
            switch (script.Byte() % 3)
            {
                case 0:
                    RunBackend(ref script);
                    break;
                case 1:
                    RunFrontend(ref script);
                    break;
                default:
                    RunByteRing(ref script);
                    break;
            }
        }
        catch (RingProtocolException)
        {
            // The documented rejection of a peer's index.
        }
    }

    private ref uint Word(int offset) => ref *(uint*)(_page.Pointer + offset);

    private void RunBackend(ref FuzzInput script)
    {
        // The frontend initialised the ring at rsp_prod; the backend attaches there, then the frontend
        // (the fuzzer) moves req_prod as it likes.
        var first = script.UInt32();
        Word(SharedRingLayout.ReqProdOffset) = first;
        Word(SharedRingLayout.RspProdOffset) = first;
        var ring = BackRing<Request, Response>.Attach(_page.Pointer, _page.Length, first);
        while (!script.IsEmpty)
        {
            switch (script.Byte() % 8)
            {
                case 0:
                    Volatile.Write(ref Word(SharedRingLayout.ReqProdOffset), script.UInt32());
                    break;
                case 1:
                    Volatile.Write(ref Word(SharedRingLayout.ReqProdOffset), Word(SharedRingLayout.ReqProdOffset) + script.Byte());
                    break;
                case 2:
                    ring.TryReadRequest(out _);
                    break;
                case 3:
                    ring.TryWriteResponse(new Response { Tag = script.UInt32() });
                    break;
                case 4:
                    ring.PushResponses();
                    break;
                case 5:
                    ring.FinalCheckForRequests();
                    break;
                case 6:
                    if (ring.UnconsumedRequests is < 0 or > 4096)
                        throw new FuzzFinding($"UnconsumedRequests {ring.UnconsumedRequests} in a ring of {ring.Size}.");
                    break;
                default:
                    Word(SharedRingLayout.RspEventOffset) = script.UInt32();
                    break;
            }
            if ((uint)ring.UnansweredRequests > (uint)ring.Size)
                throw new FuzzFinding($"The backend holds {ring.UnansweredRequests} unanswered requests in a ring of {ring.Size}.");
        }
    }

    private void RunFrontend(ref FuzzInput script)
    {
        var first = script.UInt32();
        var ring = FrontRing<Request, Response>.Initialise(_page.Pointer, _page.Length, first);
        while (!script.IsEmpty)
        {
            switch (script.Byte() % 8)
            {
                case 0:
                    ring.TryWriteRequest(new Request { Tag = script.UInt32() });
                    break;
                case 1:
                    ring.PushRequests();
                    break;
                case 2:
                    Volatile.Write(ref Word(SharedRingLayout.RspProdOffset), script.UInt32());
                    break;
                case 3:
                    Volatile.Write(ref Word(SharedRingLayout.RspProdOffset), Word(SharedRingLayout.RspProdOffset) + script.Byte());
                    break;
                case 4:
                    ring.TryReadResponse(out _);
                    break;
                case 5:
                    ring.FinalCheckForResponses();
                    break;
                case 6:
                    if ((uint)ring.UnconsumedResponses > (uint)ring.Size)
                        throw new FuzzFinding($"UnconsumedResponses {ring.UnconsumedResponses} in a ring of {ring.Size}.");
                    break;
                default:
                    Word(SharedRingLayout.ReqEventOffset) = script.UInt32();
                    break;
            }
            if ((uint)ring.FreeRequests > (uint)ring.Size)
                throw new FuzzFinding($"The frontend counts {ring.FreeRequests} free slots in a ring of {ring.Size}.");
        }
    }

    private void RunByteRing(ref FuzzInput script)
    {
        var ring = new ByteRing(_page.Pointer, ByteRingSize, (uint*)(_page.Pointer + ByteRingCons), (uint*)(_page.Pointer + ByteRingProd));
        Span<byte> buffer = stackalloc byte[2 * ByteRingSize];
        while (!script.IsEmpty)
        {
            switch (script.Byte() % 6)
            {
                case 0:
                    Volatile.Write(ref Word(ByteRingProd), script.UInt32());
                    break;
                case 1:
                    Volatile.Write(ref Word(ByteRingCons), script.UInt32());
                    break;
                case 2:
                {
                    var want = script.UInt16() % buffer.Length;
                    var got = ring.Read(buffer[..want]);
                    if ((uint)got > (uint)want)
                        throw new FuzzFinding($"Read returned {got} bytes for a {want}-byte buffer.");
                    break;
                }
                case 3:
                {
                    var want = script.UInt16() % buffer.Length;
                    var put = ring.Write(buffer[..want]);
                    if ((uint)put > (uint)want)
                        throw new FuzzFinding($"Write took {put} bytes of {want}.");
                    break;
                }
                case 4:
                    if ((uint)ring.Available > ByteRingSize)
                        throw new FuzzFinding($"Available {ring.Available} in a {ByteRingSize}-byte ring.");
                    break;
                default:
                    if ((uint)ring.Free > ByteRingSize)
                        throw new FuzzFinding($"Free {ring.Free} in a {ByteRingSize}-byte ring.");
                    break;
            }
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        // Backend: two requests published, read, answered, pushed; then the final check.
        yield return ("backend-two-requests", new SeedWriter().Byte(0).UInt32(0)
            .Byte(0).UInt32(2).Byte(2).Byte(2).Byte(3).UInt32(7).Byte(3).UInt32(8).Byte(4).Byte(5).Byte(6).ToArray());
        // Backend near the wrap of the 32-bit indices.
        yield return ("backend-wrap", new SeedWriter().Byte(0).UInt32(uint.MaxValue - 1)
            .Byte(1).Byte(3).Byte(2).Byte(2).Byte(2).Byte(3).UInt32(1).Byte(4).ToArray());
        // Frontend: three requests pushed, two answered.
        yield return ("frontend-three-requests", new SeedWriter().Byte(1).UInt32(0)
            .Byte(0).UInt32(1).Byte(0).UInt32(2).Byte(0).UInt32(3).Byte(1).Byte(2).UInt32(2).Byte(4).Byte(4).Byte(5).Byte(6).ToArray());
        // Byte ring: write 100 bytes, read 60, then a peer-written prod.
        yield return ("byte-ring", new SeedWriter().Byte(2).UInt32(0)
            .Byte(3).UInt16(100).Byte(2).UInt16(60).Byte(4).Byte(5).Byte(0).UInt32(140).Byte(2).UInt16(200).ToArray());
    }

    /// <summary>A 16-byte request, the size of several real protocols' entries.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private struct Request
    {
        public uint Tag;
    }

    /// <summary>An 8-byte response.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 8)]
    private struct Response
    {
        public uint Tag;
    }
}
