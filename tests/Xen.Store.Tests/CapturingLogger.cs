using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Xen.Store.Tests;

/// <summary>An <see cref="ILogger"/> that keeps every entry, for tests that check what was logged.</summary>
internal sealed class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId Event, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, EventId Event, string Message)> Entries => [.. _entries];

    /// <summary>The messages of the entries logged under <paramref name="eventName"/>.</summary>
    public List<string> Messages(string eventName) => [.. _entries.Where(e => e.Event.Name == eventName).Select(e => e.Message)];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId, formatter(state, exception)));
}
