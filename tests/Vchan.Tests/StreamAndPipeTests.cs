using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace Vchan.Tests;

public class StreamAndPipeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Streams_carry_bytes_both_ways_at_once_through_wrapping_rings()
    {
        using var pair = VchanPair.Create(0, 0);
        await using var server = pair.Server.AsStream(ownsEndpoint: false);
        await using var client = pair.Client.AsStream(ownsEndpoint: false);
        var up = RandomNumberGenerator.GetBytes(300_000);
        var down = RandomNumberGenerator.GetBytes(200_000);
        var tasks = new[]
        {
            Pump(up, client), Pump(down, server),
        };
        var (gotUp, gotDown) = (ReadExactly(server, up.Length), ReadExactly(client, down.Length));
        await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.Equal(up, await gotUp.WaitAsync(Timeout));
        Assert.Equal(down, await gotDown.WaitAsync(Timeout));
    }

    [Fact]
    public void Sync_stream_reads_and_writes_work_across_threads()
    {
        using var pair = VchanPair.Create(4096, 4096);
        using var server = pair.Server.AsStream(ownsEndpoint: false);
        using var client = pair.Client.AsStream(ownsEndpoint: false);
        var data = RandomNumberGenerator.GetBytes(100_000);
        var writer = new Thread(() => client.Write(data));
        writer.Start();
        var received = new byte[data.Length];
        server.ReadExactly(received);
        Assert.True(writer.Join(Timeout));
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task Stream_read_returns_zero_after_the_peer_disposes_its_stream()
    {
        using var pair = VchanPair.Create();
        var client = pair.Client.AsStream();
        await client.WriteAsync("bye"u8.ToArray());
        await client.DisposeAsync();
        await using var server = pair.Server.AsStream(ownsEndpoint: false);
        var all = new MemoryStream();
        await server.CopyToAsync(all).WaitAsync(Timeout);
        Assert.Equal("bye"u8.ToArray(), all.ToArray());
    }

    [Fact]
    public async Task Duplex_pipes_carry_bytes_both_ways()
    {
        using var pair = VchanPair.Create(8192, 8192);
        var server = pair.Server.AsPipe();
        var client = pair.Client.AsPipe();
        var data = RandomNumberGenerator.GetBytes(500_000);
        await client.Output.WriteAsync(data);
        var received = await ReadPipe(server.Input, data.Length).WaitAsync(Timeout);
        Assert.Equal(data, received);
        await server.Output.WriteAsync("ack"u8.ToArray());
        Assert.Equal("ack"u8.ToArray(), await ReadPipe(client.Input, 3).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Completing_a_pipes_output_ends_the_peers_input_after_the_bytes()
    {
        using var pair = VchanPair.Create();
        var server = pair.Server.AsPipe();
        var client = pair.Client.AsPipe();
        await client.Output.WriteAsync("end"u8.ToArray());
        await client.Output.CompleteAsync();
        var all = new MemoryStream();
        while (true)
        {
            var result = await server.Input.ReadAsync().AsTask().WaitAsync(Timeout);
            foreach (var segment in result.Buffer)
                all.Write(segment.Span);
            server.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        Assert.Equal("end"u8.ToArray(), all.ToArray());
    }

    [Fact]
    public async Task An_unread_pipe_input_stops_the_peers_writes()
    {
        using var pair = VchanPair.Create(0, 0);
        var options = new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048, useSynchronizationContext: false);
        var server = pair.Server.AsPipe(inputOptions: options);
        var chunk = new byte[512];
        long written = 0;
        // The client writes without waiting until the ring stays full: the server's input pipe is
        // paused, so its receive loop stops draining the ring.
        var quiet = 0;
        while (quiet < 50)
        {
            var n = pair.Client.TryWrite(chunk);
            written += n;
            quiet = n == 0 ? quiet + 1 : 0;
            await Task.Delay(n == 0 ? 2 : 0);
        }
        Assert.InRange(written, 1024, 1024 + 4096 + 65536);
        Assert.Equal(0, pair.Client.TryWrite(chunk));
        // Reading the input resumes the flow: the receive loop drains the ring again, and a write
        // waiting for room completes (it would time out if the flow stayed stopped).
        var result = await server.Input.ReadAsync();
        server.Input.AdvanceTo(result.Buffer.End);
        await pair.Client.WriteAsync(chunk).AsTask().WaitAsync(Timeout);
    }

    private static async Task Pump(byte[] data, Stream to)
    {
        var offset = 0;
        var random = new Random(data.Length);
        while (offset < data.Length)
        {
            var n = Math.Min(random.Next(1, 5000), data.Length - offset);
            await to.WriteAsync(data.AsMemory(offset, n));
            offset += n;
        }
    }

    private static async Task<byte[]> ReadExactly(Stream from, int count)
    {
        var buffer = new byte[count];
        await from.ReadExactlyAsync(buffer);
        return buffer;
    }

    private static async Task<byte[]> ReadPipe(PipeReader reader, int count)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.Buffer.Length >= count)
            {
                var bytes = result.Buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return bytes;
            }
            if (result.IsCompleted)
                throw new EndOfStreamException();
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
