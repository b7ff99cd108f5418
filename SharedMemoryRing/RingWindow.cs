using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// The one hostile-peer check of the byte rings: a free-running index the peer wrote must lie between
/// two bounds we know, counted modulo 2^32.
/// </summary>
internal static class RingWindow
{
    /// <summary>Whether <paramref name="index"/> lies in [<paramref name="low"/>, <paramref name="high"/>], modulo 2^32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Holds(uint index, uint low, uint high) => unchecked(index - low) <= unchecked(high - low);
}
