using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Xen.Store;
using Xen.Store.Server;

namespace Mirage.Fuzz;

/// <summary>
/// Feeds a byte stream into a fresh in-heap <see cref="XenstoreServer"/> connection, as a guest's
/// bytes arrive on its ring, and returns every byte the server wrote back. Both pipes run their
/// continuations inline, so the whole exchange happens on the calling thread.
/// </summary>
internal static class XenstoreConnection
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>Serves <paramref name="stream"/> as <paramref name="domain"/> until the server is done with it.</summary>
    /// <exception cref="FuzzFinding">The server failed inside a request, let an exception out, or never finished.</exception>
    public static byte[] Exchange(ReadOnlySpan<byte> stream, ushort domain) => ExchangeTwo([], stream, domain);

    /// <summary>
    /// Serves <paramref name="setup"/> as dom0 (the toolstack), then <paramref name="stream"/> as
    /// <paramref name="domain"/> on a second connection to the same server; returns the second's output.
    /// </summary>
    public static byte[] ExchangeTwo(ReadOnlySpan<byte> setup, ReadOnlySpan<byte> stream, ushort domain)
    {
        var failures = new FailureLog();
        // The server answers EIO to a request that threw something unexpected and logs it as an
        // error: that is a bug behind a polite reply.
        using var server = new XenstoreServer(new XenstoreServerOptions { Logger = failures });
        if (!setup.IsEmpty)
            Serve(server, setup, 0);
        var output = Serve(server, stream, domain);
        if (failures.First is { } failure)
            throw new FuzzFinding("A request failed inside the server: " + failure);
        return output;
    }

    private static byte[] Serve(XenstoreServer server, ReadOnlySpan<byte> stream, ushort domain)
    {
        var options = new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0, useSynchronizationContext: false);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        var serving = server.ServeAsync(new Duplex(toServer.Reader, toClient.Writer), domain);
        var replies = ReadAllAsync(toClient.Reader);
        var write = toServer.Writer.WriteAsync(stream.ToArray()).AsTask();
        if (!write.Wait(Deadline))
            throw new FuzzFinding("The server stopped reading its connection.");
        toServer.Writer.Complete();
        if (!serving.Wait(Deadline) || !replies.Wait(Deadline))
            throw new FuzzFinding("The server did not finish the connection within 10 s of its end.");
        if (serving.Exception is { } e)
            throw new FuzzFinding("ServeAsync let an exception out.", e);
        return replies.Result;
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var all = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer)
                all.Write(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        await reader.CompleteAsync();
        return all.WrittenSpan.ToArray();
    }

    /// <summary>Splits the server's output into messages; a partial message at the end is a finding.</summary>
    public static List<(XsWireHeader Header, byte[] Payload)> Messages(ReadOnlySpan<byte> output)
    {
        var messages = new List<(XsWireHeader, byte[])>();
        while (!output.IsEmpty)
        {
            if (output.Length < XsWireHeader.Size)
                throw new FuzzFinding($"The server wrote a partial header of {output.Length} bytes.");
            var header = XsWireHeader.Read(output);
            if (header.Len > XsWire.PayloadMax || output.Length - XsWireHeader.Size < header.Len)
                throw new FuzzFinding($"The server wrote a message of {header.Len} payload bytes with {output.Length - XsWireHeader.Size} left.");
            messages.Add((header, output.Slice(XsWireHeader.Size, (int)header.Len).ToArray()));
            output = output[(XsWireHeader.Size + (int)header.Len)..];
        }
        return messages;
    }

    /// <summary>One request as the wire carries it.</summary>
    public static byte[] Message(XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[XsWireHeader.Size + payload.Length];
        new XsWireHeader(type, reqId, txId, (uint)payload.Length).Write(bytes);
        payload.CopyTo(bytes.AsSpan(XsWireHeader.Size));
        return bytes;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Keeps the first error the server logs, with its exception.</summary>
    private sealed class FailureLog : ILogger
    {
        public string? First { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                First ??= formatter(state, exception) + ": " + exception;
        }
    }
}
