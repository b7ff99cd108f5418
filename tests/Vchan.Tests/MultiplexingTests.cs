using System.IO.Pipelines;
using System.Security.Cryptography;
using Nerdbank.Streams;

namespace Vchan.Tests;

public class MultiplexingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Named_channels_carry_their_own_bytes_over_one_vchan()
    {
        using var pair = VchanPair.Create(0, 0);
        var muxes = await Task.WhenAll(VchanMultiplexing.CreateAsync(pair.Server), VchanMultiplexing.CreateAsync(pair.Client)).WaitAsync(Timeout);
        await using var server = muxes[0];
        await using var client = muxes[1];
        var offers = Task.WhenAll(client.OfferChannelAsync("a"), client.OfferChannelAsync("b"));
        var a = await server.AcceptChannelAsync("a").WaitAsync(Timeout);
        var b = await server.AcceptChannelAsync("b").WaitAsync(Timeout);
        var offered = await offers.WaitAsync(Timeout);
        var toA = RandomNumberGenerator.GetBytes(50_000);
        var toB = RandomNumberGenerator.GetBytes(70_000);
        var gotA = ReadAllAsync(a.Input);
        var gotB = ReadAllAsync(b.Input);
        await Task.WhenAll(SendAsync(offered[0].Output, toA), SendAsync(offered[1].Output, toB)).WaitAsync(Timeout);
        Assert.Equal(toA, await gotA.WaitAsync(Timeout));
        Assert.Equal(toB, await gotB.WaitAsync(Timeout));
    }

    /// <summary>Sends <paramref name="data"/> on a channel and completes its output, while reading everything the other end answers.</summary>
    internal static async Task<byte[]> ExchangeAsync(IDuplexPipe channel, byte[] data)
    {
        var answer = ReadAllAsync(channel.Input);
        await SendAsync(channel.Output, data);
        return await answer;
    }

    internal static async Task SendAsync(PipeWriter output, byte[] data)
    {
        for (var at = 0; at < data.Length; at += 8192)
            await output.WriteAsync(data.AsMemory(at, Math.Min(8192, data.Length - at)));
        await output.CompleteAsync();
    }

    internal static async Task<byte[]> ReadAllAsync(PipeReader input)
    {
        var all = new MemoryStream();
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
                all.Write(segment.Span);
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        await input.CompleteAsync();
        return all.ToArray();
    }
}
