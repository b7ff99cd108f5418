using System.Runtime.InteropServices;

namespace SharedMemoryRing.Tests;

/// <summary>A 12-byte request, the size of a netif tx request; the C peers use the same struct.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct TestRequest(uint Id, uint A, uint B);

/// <summary>An 8-byte response; the C peers use the same struct.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct TestResponse(uint Id, uint Sum)
{
    public static TestResponse To(TestRequest request) => new(request.Id, request.A + request.B);
}

/// <summary>A 112-byte request, the size of a blkif request.</summary>
[StructLayout(LayoutKind.Sequential, Size = 112)]
internal struct BigRequest
{
    public ulong Id;
    public ulong Sector;
}

/// <summary>A 16-byte response, the size of a blkif response.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct BigResponse
{
    public ulong Id;
}

/// <summary>Ring sizes for tests: a small ring (8 entries of 12 bytes) fills up often.</summary>
internal static class TestRings
{
    public const int SmallRingBytes = SharedRingLayout.EntriesOffset + 8 * 12;
}
