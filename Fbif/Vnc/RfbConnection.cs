using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Net.Sockets;
using System.Text;

namespace Fbif.Vnc;

/// <summary>
/// One VNC client (RFC 6143, version 3.8, 3.7 or 3.3, security None): a reader that takes the client's messages
/// and a writer that answers each FramebufferUpdateRequest with what changed since the last one.
/// Anything the protocol does not allow (an unknown message, too many encodings, an oversized cut
/// text, a pixel format the server cannot make) disconnects the client.
/// </summary>
internal sealed class RfbConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly IFramebufferSource _source;
    private readonly IVncInput? _input;
    private readonly string _name;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly MemoryStream _compressed = new();
    private readonly ZLibStream _zlib;
    private RfbPixelFormat _format = RfbPixelFormat.Default;
    private bool _zlibWanted, _desktopSizeWanted, _requested, _resizePending;
    private FramebufferRect _dirty;
    private byte _buttons;

    public RfbConnection(Socket socket, IFramebufferSource source, IVncInput? input, string name)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _source = source;
        _input = input;
        _name = name;
        _zlib = new ZLibStream(_compressed, CompressionLevel.Fastest, leaveOpen: true);
        Remote = socket.RemoteEndPoint?.ToString() ?? "client";
    }

    public string Remote { get; }

    /// <summary>Updates sent, for tests and logs.</summary>
    public int UpdatesSent { get; private set; }

    public void OnDamaged(FramebufferRect rect)
    {
        lock (_gate)
            _dirty = _dirty.Union(rect);
        _wake.Release();
    }

    public void OnResized(FramebufferGeometry geometry)
    {
        lock (_gate)
        {
            _resizePending = true;
            _dirty = new FramebufferRect(0, 0, geometry.Width, geometry.Height);
        }
        _wake.Release();
    }

    /// <summary>Runs the handshake, then both loops until the client goes, breaks the protocol, or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await HandshakeAsync(cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = ReadLoopAsync(stop.Token);
        var writer = WriteLoopAsync(stop.Token);
        var first = await Task.WhenAny(reader, writer).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        _socket.Shutdown(SocketShutdown.Both);
        try
        {
            await Task.WhenAll(reader, writer).ConfigureAwait(false);
        }
        catch when (first.IsFaulted || cancellationToken.IsCancellationRequested)
        {
            // The first failure is the one that counts.
        }
        await first.ConfigureAwait(false);
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(RfbConstants.Version38), cancellationToken).ConfigureAwait(false);
        var version = new byte[12];
        await _stream.ReadExactlyAsync(version, cancellationToken).ConfigureAwait(false);
        var text = Encoding.ASCII.GetString(version);
        if (!text.StartsWith("RFB 003.", StringComparison.Ordinal) || text[11] != '\n' || !int.TryParse(text.AsSpan(8, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            || minor is not (3 or 7 or 8))
            throw new InvalidDataException($"The client's ProtocolVersion '{text.TrimEnd('\n')}' is not RFB 3.3, 3.7 or 3.8.");
        var chosen = new byte[1];
        if (minor == 3)
        {
            // RFB 3.3 (RFC 6143, appendix A), which older clients such as vncsnapshot speak: the server
            // names the security type as a U32, and None has no SecurityResult.
            await _stream.WriteAsync(new byte[] { 0, 0, 0, RfbConstants.SecurityNone }, cancellationToken).ConfigureAwait(false);
            await _stream.ReadExactlyAsync(chosen, cancellationToken).ConfigureAwait(false); // ClientInit's shared flag
            await WriteServerInitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await _stream.WriteAsync(new byte[] { 1, RfbConstants.SecurityNone }, cancellationToken).ConfigureAwait(false);
        await _stream.ReadExactlyAsync(chosen, cancellationToken).ConfigureAwait(false);
        if (chosen[0] != RfbConstants.SecurityNone)
        {
            var reason = Encoding.ASCII.GetBytes("Only security type None is offered.");
            var failure = new byte[8 + reason.Length];
            BinaryPrimitives.WriteUInt32BigEndian(failure, 1);
            BinaryPrimitives.WriteUInt32BigEndian(failure.AsSpan(4), (uint)reason.Length);
            reason.CopyTo(failure, 8);
            await _stream.WriteAsync(failure, cancellationToken).ConfigureAwait(false);
            throw new InvalidDataException($"The client chose security type {chosen[0]}, not None.");
        }
        // SecurityResult OK (3.8 sends it for None as well).
        await _stream.WriteAsync(new byte[4], cancellationToken).ConfigureAwait(false);
        await _stream.ReadExactlyAsync(chosen, cancellationToken).ConfigureAwait(false); // ClientInit's shared flag: every client shares.
        await WriteServerInitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteServerInitAsync(CancellationToken cancellationToken)
    {
        var geometry = _source.Geometry;
        var name = Encoding.UTF8.GetBytes(_name);
        var init = new byte[24 + name.Length];
        BinaryPrimitives.WriteUInt16BigEndian(init, (ushort)Math.Min(geometry.Width, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(init.AsSpan(2), (ushort)Math.Min(geometry.Height, ushort.MaxValue));
        RfbPixelFormat.Default.Write(init.AsSpan(4));
        BinaryPrimitives.WriteUInt32BigEndian(init.AsSpan(20), (uint)name.Length);
        name.CopyTo(init, 24);
        await _stream.WriteAsync(init, cancellationToken).ConfigureAwait(false);
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[20];
        while (true)
        {
            if (await _stream.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) == 0)
                return;
            switch (buffer[0])
            {
                case RfbConstants.SetPixelFormat:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 19), cancellationToken).ConfigureAwait(false);
                    var format = RfbPixelFormat.Read(buffer.AsSpan(3));
                    format.Validate();
                    lock (_gate)
                        _format = format;
                    break;
                case RfbConstants.SetEncodings:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 3), cancellationToken).ConfigureAwait(false);
                    var count = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(1));
                    if (count > RfbConstants.MaxEncodings)
                        throw new InvalidDataException($"SetEncodings lists {count} encodings; at most {RfbConstants.MaxEncodings} are read.");
                    var list = new byte[count * 4];
                    await _stream.ReadExactlyAsync(list, cancellationToken).ConfigureAwait(false);
                    SetEncodings(list);
                    break;
                case RfbConstants.FramebufferUpdateRequest:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 9), cancellationToken).ConfigureAwait(false);
                    var rect = new FramebufferRect(BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(1)), BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(3)),
                        BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(5)), BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(7)));
                    lock (_gate)
                    {
                        _requested = true;
                        if (buffer[0] == 0)
                            _dirty = _dirty.Union(rect);
                    }
                    _wake.Release();
                    break;
                case RfbConstants.KeyEvent:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 7), cancellationToken).ConfigureAwait(false);
                    if (_input is not null)
                        await _input.KeyAsync(buffer[0] != 0, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(3)), cancellationToken).ConfigureAwait(false);
                    break;
                case RfbConstants.PointerEvent:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 5), cancellationToken).ConfigureAwait(false);
                    var g = _source.Geometry;
                    _buttons = buffer[0];
                    if (_input is not null)
                        await _input.PointerAsync(_buttons, Math.Min(BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(1)), Math.Max(0, g.Width - 1)),
                            Math.Min(BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(3)), Math.Max(0, g.Height - 1)), cancellationToken).ConfigureAwait(false);
                    break;
                case RfbConstants.ClientCutText:
                    await _stream.ReadExactlyAsync(buffer.AsMemory(0, 7), cancellationToken).ConfigureAwait(false);
                    var length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(3));
                    if (length > RfbConstants.MaxCutText)
                        throw new InvalidDataException($"ClientCutText of {length} bytes passes the {RfbConstants.MaxCutText}-byte limit.");
                    // The guest has no clipboard channel here: the text is read and dropped.
                    await _stream.ReadExactlyAsync(new byte[length], cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidDataException($"Message type {buffer[0]} is not a client message this server knows.");
            }
        }
    }

    private void SetEncodings(ReadOnlySpan<byte> list)
    {
        bool zlib = false, raw = false, desktopSize = false;
        for (var i = 0; i < list.Length; i += 4)
        {
            var encoding = BinaryPrimitives.ReadInt32BigEndian(list[i..]);
            // The client lists them by preference: zlib counts only if it comes before raw.
            if (encoding == RfbConstants.EncodingZlib && !raw)
                zlib = true;
            else if (encoding == RfbConstants.EncodingRaw)
                raw = true;
            else if (encoding == RfbConstants.EncodingDesktopSize)
                desktopSize = true;
        }
        lock (_gate)
        {
            _zlibWanted = zlib;
            _desktopSizeWanted = desktopSize;
        }
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var message = new MemoryStream();
        var header = new byte[12];
        while (true)
        {
            await _wake.WaitAsync(cancellationToken).ConfigureAwait(false);
            FramebufferRect dirty;
            bool resize, zlib;
            RfbPixelFormat format;
            lock (_gate)
            {
                var pending = !_dirty.IsEmpty || (_resizePending && _desktopSizeWanted);
                if (!_requested || !pending)
                    continue;
                _requested = false;
                dirty = _dirty;
                _dirty = default;
                resize = _resizePending && _desktopSizeWanted;
                _resizePending = false;
                zlib = _zlibWanted;
                format = _format;
            }
            var geometry = _source.Geometry;
            message.SetLength(0);
            var rects = (resize ? 1 : 0);
            var clipped = dirty.Clip(geometry.Width, geometry.Height);
            if (!clipped.IsEmpty)
                rects++;
            header[0] = RfbConstants.FramebufferUpdate;
            header[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)rects);
            message.Write(header, 0, 4);
            if (resize)
            {
                RectHeader(header, new FramebufferRect(0, 0, geometry.Width, geometry.Height), RfbConstants.EncodingDesktopSize);
                message.Write(header);
            }
            if (!clipped.IsEmpty)
                EncodeRect(message, clipped, format, zlib);
            await _stream.WriteAsync(message.GetBuffer().AsMemory(0, (int)message.Length), cancellationToken).ConfigureAwait(false);
            UpdatesSent++;
        }
    }

    private static void RectHeader(Span<byte> header, FramebufferRect rect, int encoding)
    {
        BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)rect.X);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)rect.Y);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)rect.Width);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)rect.Height);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], encoding);
    }

    private void EncodeRect(MemoryStream message, FramebufferRect rect, RfbPixelFormat format, bool zlib)
    {
        var pixels = new byte[rect.Width * rect.Height * 4];
        var copied = _source.CopyPixels(rect, pixels);
        // The mode may have shrunk since the geometry was read: what is gone is sent black.
        if (copied != rect)
            Array.Clear(pixels);
        var converted = new byte[rect.Width * rect.Height * format.BytesPerPixel];
        format.Convert(pixels, converted);
        Span<byte> header = stackalloc byte[12];
        RectHeader(header, rect, zlib ? RfbConstants.EncodingZlib : RfbConstants.EncodingRaw);
        message.Write(header);
        if (!zlib)
        {
            message.Write(converted);
            return;
        }
        _compressed.SetLength(0);
        _zlib.Write(converted);
        _zlib.Flush();
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)_compressed.Length);
        message.Write(length);
        message.Write(_compressed.GetBuffer().AsSpan(0, (int)_compressed.Length));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        await _zlib.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _wake.Dispose();
    }
}
