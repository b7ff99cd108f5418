using System.Buffers;
using System.IO.Pipelines;

namespace Xen.Store;

/// <summary>
/// The messages waiting to go to one peer: replies from its own requests and watch events from
/// anyone's, written under a lock in the order they happen, then sent by one pump loop.
/// </summary>
/// <remarks>
/// With <c>sendInline</c> the pump runs on the thread that queues a message, when the pump is idle:
/// a request or reply goes to the transport without waking another thread first. Between
/// <see cref="BeginBatch"/> and <see cref="EndBatch"/> messages are queued and go out together at
/// the end, in one write: the loops that read a peer's messages batch what they answer to one read.
/// </remarks>
internal sealed class Outbox
{
    // No pause threshold: writers never wait, they are counted instead; the request loop holds back
    // a peer that does not read its replies, and watch events to it are dropped with the peer.
    private readonly Pipe _pipe;
    private readonly Lock _lock = new();
    private readonly long _limit;
    private long _pending;
    private bool _completed;
    private int _batches;
    private bool _unflushed;
    private TaskCompletionSource? _drained;

    public Outbox(long limit, bool sendInline = false)
    {
        _limit = limit;
        _pipe = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false,
            readerScheduler: sendInline ? PipeScheduler.Inline : PipeScheduler.ThreadPool));
    }

    /// <summary>Bytes written and not yet sent.</summary>
    public long Pending
    {
        get
        {
            lock (_lock)
                return _pending;
        }
    }

    /// <summary>Whether the bytes waiting have reached the limit.</summary>
    public bool IsFull
    {
        get
        {
            lock (_lock)
                return _pending >= _limit;
        }
    }

    /// <summary>Queues one message; false when the outbox is closed or over its limit.</summary>
    public bool TryWrite(XsMessageType type, uint reqId, uint txId, ReadOnlySpan<byte> payload, bool evenOverLimit = true)
    {
        var length = XsWireHeader.Size + payload.Length;
        lock (_lock)
        {
            if (_completed || (!evenOverLimit && _pending + length > _limit))
                return false;
            var span = _pipe.Writer.GetSpan(length);
            new XsWireHeader(type, reqId, txId, (uint)payload.Length).Write(span);
            payload.CopyTo(span[XsWireHeader.Size..]);
            Commit(length);
            return true;
        }
    }

    /// <summary>
    /// Queues one message whose payload is <paramref name="text"/> in UTF-8 and a NUL (a path, say),
    /// encoded straight into the queue; false when the outbox is closed. The caller checks the size.
    /// </summary>
    public bool TryWrite(XsMessageType type, uint reqId, uint txId, string text)
    {
        var payloadLength = System.Text.Encoding.UTF8.GetByteCount(text) + 1;
        var length = XsWireHeader.Size + payloadLength;
        lock (_lock)
        {
            if (_completed)
                return false;
            var span = _pipe.Writer.GetSpan(length);
            new XsWireHeader(type, reqId, txId, (uint)payloadLength).Write(span);
            System.Text.Encoding.UTF8.GetBytes(text, span[XsWireHeader.Size..]);
            span[length - 1] = 0;
            Commit(length);
            return true;
        }
    }

    // Under _lock: counts the message and, outside a batch, hands it to the pump.
    private void Commit(int length)
    {
        _pipe.Writer.Advance(length);
        _pending += length;
        if (_batches > 0)
        {
            _unflushed = true;
            return;
        }
        // Completes at once: the pipe never pauses its writer. With an inline pump, the message is
        // sent here when the pump was idle.
        _pipe.Writer.FlushAsync().GetAwaiter().GetResult();
    }

    /// <summary>Holds messages back until the matching <see cref="EndBatch"/>, which sends them together.</summary>
    public void BeginBatch()
    {
        lock (_lock)
            _batches++;
    }

    /// <summary>Ends a <see cref="BeginBatch"/>; the last one hands what was held back to the pump.</summary>
    public void EndBatch()
    {
        lock (_lock)
        {
            if (--_batches > 0 || !_unflushed || _completed)
                return;
            _unflushed = false;
            _pipe.Writer.FlushAsync().GetAwaiter().GetResult();
        }
    }

    /// <summary>Completes when at most half the limit is waiting.</summary>
    public Task WhenDrainedAsync()
    {
        lock (_lock)
        {
            if (_completed || _pending <= _limit / 2)
                return Task.CompletedTask;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    /// <summary>Stops taking messages; the pump sends what is queued and ends.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            if (_completed)
                return;
            _completed = true;
            _pipe.Writer.Complete();
            _drained?.TrySetResult();
        }
    }

    /// <summary>
    /// Sends queued messages to <paramref name="output"/> until <see cref="Complete"/> or a failed send.
    /// With <paramref name="oneMessagePerWrite"/> every message is flushed on its own: Linux's
    /// <c>/dev/xen/xenbus</c> takes one whole message per write and drops whatever follows it.
    /// </summary>
    public async Task PumpAsync(PipeWriter output, CancellationToken cancellationToken, bool oneMessagePerWrite = false)
    {
        if (oneMessagePerWrite)
        {
            await PumpEachAsync(output, cancellationToken).ConfigureAwait(false);
            return;
        }
        var reader = _pipe.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                // Measured before AdvanceTo: the buffer's segments go back to the pool there.
                var sent = buffer.Length;
                foreach (var segment in buffer)
                    output.Write(segment.Span);
                reader.AdvanceTo(buffer.End);
                var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    _pending -= sent;
                    if (_drained is not null && _pending <= _limit / 2)
                    {
                        _drained.TrySetResult();
                        _drained = null;
                    }
                }
                if (result.IsCompleted || flush.IsCompleted)
                    break;
            }
        }
        finally
        {
            Complete();
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task PumpEachAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var reader = _pipe.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var flushCompleted = false;
                // Only whole messages go in: TryWrite writes each one in a single Advance.
                while (buffer.Length >= XsWireHeader.Size && !flushCompleted)
                {
                    var length = MessageLength(buffer);
                    var message = buffer.Slice(0, length);
                    message.CopyTo(output.GetSpan(length));
                    output.Advance(length);
                    flushCompleted = (await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted;
                    buffer = buffer.Slice(length);
                    lock (_lock)
                    {
                        _pending -= length;
                        if (_drained is not null && _pending <= _limit / 2)
                        {
                            _drained.TrySetResult();
                            _drained = null;
                        }
                    }
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || flushCompleted)
                    break;
            }
        }
        finally
        {
            Complete();
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static int MessageLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[XsWireHeader.Size];
        buffer.Slice(0, XsWireHeader.Size).CopyTo(header);
        return XsWireHeader.Size + (int)XsWireHeader.Read(header).Len;
    }
}
