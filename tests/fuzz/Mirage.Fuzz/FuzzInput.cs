using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mirage.Fuzz;

/// <summary>
/// Reads a fuzz input as a script: little-endian numbers taken from the front, zeros once it runs out,
/// so that every input, however short, is a whole script.
/// </summary>
public ref struct FuzzInput(ReadOnlySpan<byte> bytes)
{
    private ReadOnlySpan<byte> _rest = bytes;

    /// <summary>Whether any byte is left.</summary>
    public readonly bool IsEmpty => _rest.IsEmpty;

    /// <summary>Bytes left.</summary>
    public readonly int Remaining => _rest.Length;

    public byte Byte() => Take(1) is [var b] ? b : (byte)0;

    public ushort UInt16() => Take(2) is { Length: 2 } s ? BinaryPrimitives.ReadUInt16LittleEndian(s) : (ushort)0;

    public uint UInt32() => Take(4) is { Length: 4 } s ? BinaryPrimitives.ReadUInt32LittleEndian(s) : 0;

    public ulong UInt64() => Take(8) is { Length: 8 } s ? BinaryPrimitives.ReadUInt64LittleEndian(s) : 0;

    /// <summary>A wire struct (a ring slot) from its next bytes as they lie in memory; zeros past the end.</summary>
    public T Struct<T>() where T : unmanaged
    {
        Span<byte> bytes = stackalloc byte[Unsafe.SizeOf<T>()];
        Take(bytes.Length).CopyTo(bytes);
        return MemoryMarshal.Read<T>(bytes);
    }

    /// <summary>Up to <paramref name="count"/> bytes; fewer at the end.</summary>
    public ReadOnlySpan<byte> Take(int count)
    {
        var taken = _rest[..Math.Min(count, _rest.Length)];
        _rest = _rest[taken.Length..];
        return taken;
    }

    /// <summary>Everything left.</summary>
    public ReadOnlySpan<byte> Rest()
    {
        var rest = _rest;
        _rest = [];
        return rest;
    }
}

/// <summary>Builds seed inputs in the layout <see cref="FuzzInput"/> reads.</summary>
public sealed class SeedWriter
{
    private readonly List<byte> _bytes = [];

    public SeedWriter Byte(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public SeedWriter UInt16(ushort value)
    {
        Span<byte> s = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(s, value);
        return Bytes(s);
    }

    public SeedWriter UInt32(uint value)
    {
        Span<byte> s = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(s, value);
        return Bytes(s);
    }

    public SeedWriter UInt64(ulong value)
    {
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, value);
        return Bytes(s);
    }

    public SeedWriter Bytes(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
            _bytes.Add(b);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];
}
