using System.Buffers.Binary;

namespace Fbif;

/// <summary><c>struct xenfb_refresh_period</c>: the backend's advice, in milliseconds (period at 4); <see cref="FbifConstants.NoRefresh"/> for none.</summary>
public readonly record struct FbifRefreshPeriod(uint Period)
{
    /// <summary>Writes the event into a 40-byte slot image.</summary>
    public void Write(Span<byte> evt)
    {
        evt[..FbifConstants.EventSize].Clear();
        evt[0] = FbifConstants.TypeRefreshPeriod;
        BinaryPrimitives.WriteUInt32LittleEndian(evt[4..], Period);
    }

    /// <summary>Reads the event from a copied slot.</summary>
    public static FbifRefreshPeriod Read(ReadOnlySpan<byte> evt) => new(BinaryPrimitives.ReadUInt32LittleEndian(evt[4..]));
}
