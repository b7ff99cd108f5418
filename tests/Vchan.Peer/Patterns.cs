using System.Security.Cryptography;

namespace Vchan.Peer;

/// <summary>The bytes the cross-process tests send: a seeded random megabyte read at a moving offset.</summary>
internal static class Patterns
{
    private static byte[] Source(int seed)
    {
        var source = new byte[(1 << 20) + 65536];
        new Random(seed).NextBytes(source);
        return source;
    }

    private static ReadOnlyMemory<byte> Chunk(byte[] source, int chunk, int length) => source.AsMemory(chunk * 7919 % (1 << 20), length);

    /// <summary>Writes <paramref name="count"/> pattern bytes and returns their SHA-256.</summary>
    public static async Task<byte[]> SendAsync(VchanEndpoint endpoint, long count, int seed)
    {
        var source = Source(seed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long sent = 0;
        for (var chunk = 0; sent < count; chunk++)
        {
            var slice = Chunk(source, chunk, (int)Math.Min(65536, count - sent));
            await endpoint.WriteAsync(slice);
            hash.AppendData(slice.Span);
            sent += slice.Length;
        }
        return hash.GetHashAndReset();
    }

    /// <summary>The SHA-256 of <paramref name="count"/> pattern bytes.</summary>
    public static byte[] Expected(long count, int seed)
    {
        var source = Source(seed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long sent = 0;
        for (var chunk = 0; sent < count; chunk++)
        {
            var slice = Chunk(source, chunk, (int)Math.Min(65536, count - sent));
            hash.AppendData(slice.Span);
            sent += slice.Length;
        }
        return hash.GetHashAndReset();
    }

    /// <summary>Reads until the end and returns the SHA-256 of what came, and how much.</summary>
    public static async Task<(byte[] Hash, long Count)> ReceiveAsync(VchanEndpoint endpoint)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 18];
        long total = 0;
        int n;
        while ((n = await endpoint.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        return (hash.GetHashAndReset(), total);
    }
}
