using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Xen.Store.Tests;

/// <summary>A test's byte-level connection to a server: sends any bytes, reads whole messages, with timeouts.</summary>
internal sealed class Raw(IDuplexPipe pipe) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static byte[] Message(XsMessageType type, uint reqId, uint txId, byte[] payload)
    {
        var bytes = new byte[16 + payload.Length];
        new XsWireHeader(type, reqId, txId, (uint)payload.Length).Write(bytes);
        payload.CopyTo(bytes, 16);
        return bytes;
    }

    public static byte[] Args(params string[] args) => Encoding.ASCII.GetBytes(string.Concat(args.Select(a => a + "\0")));

    public async Task SendBytesAsync(byte[] bytes)
    {
        await pipe.Output.WriteAsync(bytes);
    }

    public Task SendAsync(XsMessageType type, byte[] payload, uint reqId = 0, uint txId = 0) => SendBytesAsync(Message(type, reqId, txId, payload));

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public async Task<(XsWireHeader Header, byte[] Payload)?> ReceiveAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cts.Token);
            var buffer = result.Buffer;
            if (buffer.Length >= 16)
            {
                var header = XsWireHeader.Read(buffer.Slice(0, 16).ToArray());
                if (buffer.Length >= 16 + header.Len)
                {
                    var payload = buffer.Slice(16, header.Len).ToArray();
                    pipe.Input.AdvanceTo(buffer.GetPosition(16 + header.Len));
                    return (header, payload);
                }
            }
            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
                return null;
        }
    }

    /// <summary>Sends a request and returns its reply, skipping watch events.</summary>
    public async Task<(XsMessageType Type, string Payload)> RequestAsync(XsMessageType type, byte[] payload, uint txId = 0)
    {
        await SendAsync(type, payload, 77, txId);
        while (true)
        {
            var m = await ReceiveAsync() ?? throw new InvalidOperationException("The server closed the connection.");
            if (m.Header.Type != XsMessageType.WatchEvent)
            {
                Assert.Equal(77u, m.Header.ReqId);
                return (m.Header.Type, Encoding.Latin1.GetString(m.Payload));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await pipe.Output.CompleteAsync();
        await pipe.Input.CompleteAsync();
    }
}
