using System.Runtime.CompilerServices;
using SharedMemoryRing;
using Xen.Evtchn;

namespace Vchan;

// Writing the ring the peer reads: the right ring for a server, the left ring for a client.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private EventCounter _writeSeen;

    /// <inheritdoc />
    public override int BufferSpace
    {
        get
        {
            Enter();
            try
            {
                RequestNotify(VchanControlPage.NotifyRead);
                return FreeToWrite();
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override int TryWrite(ReadOnlySpan<byte> data)
    {
        Enter();
        try
        {
            ThrowIfPeerClosed();
            return WriteCore(data);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> data)
    {
        Enter();
        try
        {
            while (!data.IsEmpty)
            {
                var n = WriteOrPrepareWait(data, out var seen);
                if (n > 0)
                {
                    data = data[n..];
                }
                else
                {
                    _counters.WriteWaits++;
                    _writeSeen = WaitForEvent(seen);
                }
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        Enter();
        try
        {
            while (!data.IsEmpty)
            {
                var n = WriteOrPrepareWait(data.Span, out var seen);
                if (n == 0)
                    return WriteWaitingAsync(data, seen, cancellationToken);
                data = data[n..];
            }
        }
        catch
        {
            Exit();
            throw;
        }
        Exit();
        return ValueTask.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteWaitingAsync(ReadOnlyMemory<byte> data, EventCounter seen, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                _counters.WriteWaits++;
                _writeSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
                int n;
                while ((n = WriteOrPrepareWait(data.Span, out seen)) > 0)
                {
                    data = data[n..];
                    if (data.IsEmpty)
                        return;
                }
            }
        }
        finally
        {
            Exit();
        }
    }

    // Returns the bytes written, or 0 when the caller must wait for an event past `seen`.
    private int WriteOrPrepareWait(ReadOnlySpan<byte> data, out EventCounter seen)
    {
        ThrowIfClosed();
        seen = _writeSeen;
        ThrowIfPeerClosed();
        var n = WriteCore(data);
        if (n > 0)
            return n;
        SpinUntil(reading: false);
        ThrowIfPeerClosed();
        n = WriteCore(data);
        if (n > 0)
            return n;
        RequestNotify(VchanControlPage.NotifyRead);
        n = WriteCore(data);
        if (n > 0)
            return n;
        ThrowIfPeerClosed();
        return 0;
    }

    private int WriteCore(ReadOnlySpan<byte> data)
    {
        int n;
        try
        {
            n = _writer.Write(data);
        }
        catch (RingProtocolException e)
        {
            throw Fault(e);
        }
        if (n == 0)
            return 0;
        _counters.BytesWritten += n;
        SendNotify(VchanControlPage.NotifyWrite);
        return n;
    }

    private int FreeToWrite()
    {
        try
        {
            return _writer.Free;
        }
        catch (RingProtocolException e)
        {
            throw Fault(e);
        }
    }
}
