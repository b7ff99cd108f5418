using System.Runtime.InteropServices;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Xen.Unix.Peer;

/// <summary>A 12-byte request (netif tx's size).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct RingRequest(uint Id, uint A, uint B);

/// <summary>An 8-byte response.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct RingResponse(uint Id, uint Sum);

/// <summary>
/// A frontend that pipelines numbered requests through a shared ring and checks every response, and a
/// backend that answers them; generic over the events backend, as drivers are. Compiled into the peer
/// program and the tests.
/// </summary>
public static class RingExchange
{
    private static RingRequest RequestFor(uint id) => new(id, id * 7, id ^ 0x5555);

    /// <summary>Sends <paramref name="count"/> requests, as many in flight as the ring holds; returns the checksum of the responses.</summary>
    /// <param name="events">The events backend.</param>
    /// <param name="channel">The channel to the backend.</param>
    /// <param name="ring">The ring, initialised before its pages were published.</param>
    /// <param name="count">How many requests.</param>
    /// <param name="cancellationToken">Ends the exchange.</param>
    public static async Task<ulong> FrontAsync<TEvents>(TEvents events, Channel channel, FrontRing<RingRequest, RingResponse> ring, int count, CancellationToken cancellationToken)
        where TEvents : IEvents
    {
        var front = new FrontRingChannel<TEvents, RingRequest, RingResponse>(events, channel, ring);
        uint sent = 0, received = 0;
        ulong checksum = 0;
        while (received < count)
        {
            while (sent < count && !front.Ring.IsFull)
                front.Ring.WriteRequest(RequestFor(sent++));
            front.PushRequests();
            await front.WaitForResponsesAsync(cancellationToken).ConfigureAwait(false);
            while (front.Ring.TryReadResponse(out var response))
            {
                var request = RequestFor(received);
                if (response.Id != received || response.Sum != request.A + request.B)
                    throw new InvalidDataException($"Response {received} is {response}, expected sum {request.A + request.B}.");
                checksum += response.Sum;
                received++;
            }
        }
        return checksum;
    }

    /// <summary>Answers <paramref name="count"/> requests with the sum of their two numbers.</summary>
    public static async Task<int> BackAsync<TEvents>(TEvents events, Channel channel, PageBuffer pages, int count, CancellationToken cancellationToken)
        where TEvents : IEvents
    {
        var back = new BackRingChannel<TEvents, RingRequest, RingResponse>(events, channel, BackRing<RingRequest, RingResponse>.Attach(pages));
        var answered = 0;
        while (answered < count)
        {
            await back.WaitForRequestsAsync(cancellationToken).ConfigureAwait(false);
            while (back.Ring.TryReadRequest(out var request))
            {
                back.Ring.WriteResponse(new RingResponse(request.Id, request.A + request.B));
                answered++;
            }
            back.PushResponses();
        }
        return answered;
    }
}
