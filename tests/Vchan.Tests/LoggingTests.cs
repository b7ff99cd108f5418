using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace Vchan.Tests;

/// <summary>What a vchan end logs: connect, close, the peer's close and the peer's protocol faults.</summary>
public class LoggingTests
{
    [Fact]
    public async Task An_end_logs_its_connect_the_peers_fault_and_its_close()
    {
        var serverLog = new CapturingLogger();
        var clientLog = new CapturingLogger();
        using var backends = VchanPair.CreateBackends();
        var server = VchanEndpoint.Listen(backends.ServerEvents, backends.ServerMemory, VchanPair.ClientDomain, logger: serverLog);
        var client = VchanEndpoint.Connect(backends.ClientEvents, backends.ClientMemory, VchanPair.ServerDomain, server.Rendezvous, logger: clientLog);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(clientLog.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("client connected to domain 1", StringComparison.Ordinal));
        Assert.Contains(serverLog.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("server connected to domain 2", StringComparison.Ordinal));

        // The client claims more bytes than the left ring holds.
        BinaryPrimitives.WriteUInt32LittleEndian(server.ControlPage.Span[(VchanControlPage.LeftOffset + 4)..], 5000);
        Assert.Throws<VchanProtocolException>(() => server.TryRead(new byte[1]));
        var fault = Assert.Single(serverLog.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("domain 2 broke the protocol", fault.Message, StringComparison.Ordinal);
        Assert.Contains("5000", fault.Message, StringComparison.Ordinal);

        client.Dispose();
        Assert.Contains(clientLog.Entries, e => e.Message.Contains("client to domain 1 closed", StringComparison.Ordinal));
        server.Dispose();
        Assert.Contains(serverLog.Entries, e => e.Message.Contains("server to domain 2 closed", StringComparison.Ordinal));
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_entries)
                    return [.. _entries];
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
                _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
