using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>Cold throws, kept out of the hot methods so that those stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void RequestOverflow(uint reqProd, uint reqCons, uint rspProdPvt, uint size) =>
        throw new RingProtocolException(
            $"The frontend's req_prod {reqProd} claims {unchecked(reqProd - reqCons)} new requests after req_cons {reqCons}, " +
            $"but only {size - unchecked(reqCons - rspProdPvt)} of the ring's {size} slots are free to it (rsp_prod_pvt {rspProdPvt}).");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ResponseOverflow(uint rspProd, uint rspCons, uint reqProd) =>
        throw new RingProtocolException(
            $"The backend's rsp_prod {rspProd} claims {unchecked(rspProd - rspCons)} responses after rsp_cons {rspCons}, " +
            $"but only {unchecked(reqProd - rspCons)} pushed requests are outstanding (req_prod {reqProd}).");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ByteRingOverflow(uint prod, uint cons, uint size) =>
        throw new RingProtocolException(
            $"The byte ring's indices prod {prod} and cons {cons} claim {unchecked(prod - cons)} bytes in a ring of {size}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ByteRingProducerOutOfWindow(uint prod, uint prodSeen, uint cons, uint size) =>
        throw new RingProtocolException(unchecked(prodSeen - prod) <= size
            ? $"The byte ring's producer index moved backwards, from {prodSeen} to {prod}."
            : $"The byte ring's producer index {prod} claims {unchecked(prod - cons)} bytes after the consumer's {cons} in a ring of {size}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ByteRingConsumerOutOfWindow(uint cons, uint consSeen, uint prod, uint size) =>
        throw new RingProtocolException(unchecked(consSeen - cons) <= size
            ? $"The byte ring's consumer index moved backwards, from {consSeen} to {cons}."
            : $"The byte ring's consumer index {cons} is {unchecked(cons - prod)} bytes past the producer's {prod}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void RingFull() =>
        throw new InvalidOperationException("The ring has no free request slot: wait for responses and consume them first.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void RequestsUnanswered(uint unanswered) =>
        throw new InvalidOperationException($"Requests consumed before have no response yet ({unanswered} of them): answer them first, in order, before answering more in place.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NoRequestToAnswer() =>
        throw new InvalidOperationException("Every consumed request already has its response: a response needs the slot of a consumed request.");
}
