using System.Buffers;
using System.Threading.Channels;

namespace Netif.Links;

/// <summary>In-process links for a netback: a connected pair, or a loopback.</summary>
public static class NetworkLink
{
    /// <summary>The default number of frames a link queues per direction.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>
    /// Two connected endpoints: what one writes, the other reads. Give one to a netback and use the
    /// other in the same process (or give it to a second netback, a wire between two guests).
    /// </summary>
    public static (QueueLink A, QueueLink B) CreatePair(int capacity = DefaultCapacity)
    {
        var ab = NewQueue(capacity);
        var ba = NewQueue(capacity);
        return (new QueueLink(ab, ba), new QueueLink(ba, ab));
    }

    /// <summary>A link that hands every frame written to it back to its reader: a netfront receives what it sends.</summary>
    public static QueueLink CreateLoopback(int capacity = DefaultCapacity)
    {
        var q = NewQueue(capacity);
        return new QueueLink(q, q);
    }

    private static Channel<QueuedFrame> NewQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return Channel.CreateBounded<QueuedFrame>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }
}

/// <summary>A frame in a <see cref="QueueLink"/>, in a pooled array.</summary>
internal readonly record struct QueuedFrame(byte[] Buffer, int Length, FrameOffload Offload);

/// <summary>
/// An in-process link over two bounded queues of frames held in pooled arrays: nothing is allocated
/// per frame once the pool is warm. Thread-safe.
/// </summary>
public sealed class QueueLink : INetworkLink, IDisposable
{
    private readonly Channel<QueuedFrame> _out;
    private readonly Channel<QueuedFrame> _in;

    internal QueueLink(Channel<QueuedFrame> outgoing, Channel<QueuedFrame> incoming)
    {
        _out = outgoing;
        _in = incoming;
    }

    private readonly Lock _reading = new();

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The frame is longer than <see cref="Frames.MaxFrame"/>.</exception>
    public bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload)
    {
        if (frame.Length > Frames.MaxFrame)
            throw new ArgumentException($"A frame of {frame.Length} bytes is longer than a link carries ({Frames.MaxFrame}).", nameof(frame));
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        if (_out.Writer.TryWrite(new QueuedFrame(buffer, frame.Length, offload)))
            return true;
        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>Writes a frame, waiting while the link is full.</summary>
    /// <exception cref="ChannelClosedException">The link was closed.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, FrameOffload offload = default, CancellationToken cancellationToken = default)
    {
        while (!TryWrite(frame.Span, offload))
        {
            if (!await WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
                throw new ChannelClosedException("The link is closed.");
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
        _out.Writer.WaitToWriteAsync(cancellationToken);

    /// <inheritdoc />
    public bool TryRead(Span<byte> destination, out ReceivedFrame frame) => TryReadFrom(_in.Reader, _reading, destination, out frame);

    /// <summary>Takes the next frame of <paramref name="reader"/> if it fits <paramref name="destination"/>
    /// (<see cref="INetworkLink.TryRead"/>). Every reader looks and takes under <paramref name="reading"/>, so
    /// a frame found too long is still the next for the next reader.</summary>
    internal static bool TryReadFrom(ChannelReader<QueuedFrame> reader, Lock reading, Span<byte> destination, out ReceivedFrame frame)
    {
        QueuedFrame queued;
        lock (reading)
        {
            if (!reader.TryPeek(out queued))
            {
                frame = default;
                return false;
            }
            frame = new ReceivedFrame(queued.Length, queued.Offload);
            if (queued.Length > destination.Length)
                return false;
            reader.TryRead(out _);
        }
        queued.Buffer.AsSpan(0, queued.Length).CopyTo(destination);
        ArrayPool<byte>.Shared.Return(queued.Buffer);
        return true;
    }

    /// <summary>Reads a frame, waiting until one comes.</summary>
    /// <exception cref="ArgumentException">The next frame is longer than <paramref name="destination"/>; it stays next.</exception>
    /// <exception cref="ChannelClosedException">The link was closed and drained.</exception>
    public async ValueTask<ReceivedFrame> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryRead(destination.Span, out var frame))
                return frame;
            if (frame.Length > 0)
                throw new ArgumentException($"The next frame is {frame.Length} bytes, longer than the destination ({destination.Length}); it stays next.", nameof(destination));
            if (!await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                throw new ChannelClosedException("The link is closed.");
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _in.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Closes this endpoint's sending direction: the peer's reader drains, then sees the end.</summary>
    public void Dispose() => _out.Writer.TryComplete();
}
