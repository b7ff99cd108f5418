using System.Buffers;
using Nerdbank.Streams;

namespace Vchan.Peer;

/// <summary>Named services on one multiplexed vchan, as qrexec runs them: each answers on its own channel.</summary>
internal static class Services
{
    /// <summary>Accepts the channel <paramref name="name"/> and sends back what it reads, changed by <paramref name="change"/>, until its input ends.</summary>
    public static async Task ServeAsync(MultiplexingStream mux, string name, SpanAction change)
    {
        var channel = await mux.AcceptChannelAsync(name);
        var scratch = new byte[65536];
        while (true)
        {
            var result = await channel.Input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                for (var at = 0; at < segment.Length; at += scratch.Length)
                {
                    var piece = segment.Slice(at, Math.Min(scratch.Length, segment.Length - at));
                    piece.Span.CopyTo(scratch);
                    change(scratch.AsSpan(0, piece.Length));
                    await channel.Output.WriteAsync(scratch.AsMemory(0, piece.Length));
                }
            }
            channel.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        await channel.Input.CompleteAsync();
        await channel.Output.CompleteAsync();
    }

    /// <summary>Changes the bytes in place.</summary>
    public delegate void SpanAction(Span<byte> bytes);
}
