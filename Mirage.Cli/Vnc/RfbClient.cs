using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mirage.Cli.Vnc;

/// <summary>
/// A small RFB 3.8 client (RFC 6143) for the demo and the tests: security None, 32-bit
/// <c>0x00RRGGBB</c> pixels, Raw, zlib and DesktopSize; it keeps the screen it was sent.
/// </summary>
internal sealed class RfbClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly ZlibFeed _feed = new();
    private readonly ZLibStream _inflate;

    private RfbClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _inflate = new ZLibStream(_feed, CompressionMode.Decompress);
    }

    public int Width { get; private set; }

    public int Height { get; private set; }

    public string Name { get; private set; } = "";

    /// <summary>The screen as last updated: 32-bit pixels, rows packed.</summary>
    public byte[] Pixels { get; private set; } = [];

    /// <summary>Encodings of the rectangles received, in order.</summary>
    public List<int> EncodingsSeen { get; } = [];

    /// <summary>Connects and runs the handshake; asks for zlib first when <paramref name="zlib"/>.</summary>
    public static async Task<RfbClient> ConnectAsync(IPEndPoint endPoint, bool zlib, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        var client = new RfbClient(tcp);
        try
        {
            await client.HandshakeAsync(zlib, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task HandshakeAsync(bool zlib, CancellationToken cancellationToken)
    {
        var version = new byte[12];
        await _stream.ReadExactlyAsync(version, cancellationToken).ConfigureAwait(false);
        if (Encoding.ASCII.GetString(version) != "RFB 003.008\n")
            throw new InvalidDataException($"The server speaks '{Encoding.ASCII.GetString(version).TrimEnd()}', not RFB 3.8.");
        await _stream.WriteAsync(version, cancellationToken).ConfigureAwait(false);
        var count = new byte[1];
        await _stream.ReadExactlyAsync(count, cancellationToken).ConfigureAwait(false);
        var types = new byte[count[0]];
        await _stream.ReadExactlyAsync(types, cancellationToken).ConfigureAwait(false);
        if (!types.Contains((byte)1))
            throw new InvalidDataException("The server does not offer security type None.");
        await _stream.WriteAsync(new byte[] { 1 }, cancellationToken).ConfigureAwait(false);
        var result = new byte[4];
        await _stream.ReadExactlyAsync(result, cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32BigEndian(result) != 0)
            throw new InvalidDataException("The server refused the security handshake.");
        await _stream.WriteAsync(new byte[] { 1 }, cancellationToken).ConfigureAwait(false);
        var init = new byte[24];
        await _stream.ReadExactlyAsync(init, cancellationToken).ConfigureAwait(false);
        Resize(BinaryPrimitives.ReadUInt16BigEndian(init), BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2)));
        var name = new byte[BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20))];
        await _stream.ReadExactlyAsync(name, cancellationToken).ConfigureAwait(false);
        Name = Encoding.UTF8.GetString(name);
        // SetPixelFormat: 32 bits, depth 24, little-endian, true colour, 255 each, shifts 16/8/0.
        var format = new byte[20];
        format[0] = 0;
        byte[] pf = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0];
        pf.CopyTo(format, 4);
        await _stream.WriteAsync(format, cancellationToken).ConfigureAwait(false);
        int[] encodings = zlib ? [6, 0, -223] : [0, -223];
        var set = new byte[4 + encodings.Length * 4];
        set[0] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(set.AsSpan(2), (ushort)encodings.Length);
        for (var i = 0; i < encodings.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(set.AsSpan(4 + i * 4), encodings[i]);
        await _stream.WriteAsync(set, cancellationToken).ConfigureAwait(false);
    }

    private void Resize(int width, int height)
    {
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 4];
    }

    /// <summary>Sends a FramebufferUpdateRequest for the whole screen.</summary>
    public async Task RequestAsync(bool incremental, CancellationToken cancellationToken)
    {
        var request = new byte[10];
        request[0] = 3;
        request[1] = incremental ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)Width);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), (ushort)Height);
        await _stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends raw bytes, to play a broken client.</summary>
    public ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>Sends a KeyEvent.</summary>
    public async Task KeyAsync(uint keysym, bool down, CancellationToken cancellationToken)
    {
        var message = new byte[8];
        message[0] = 4;
        message[1] = down ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), keysym);
        await _stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a PointerEvent.</summary>
    public async Task PointerAsync(byte buttons, int x, int y, CancellationToken cancellationToken)
    {
        var message = new byte[6];
        message[0] = 5;
        message[1] = buttons;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)x);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)y);
        await _stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one FramebufferUpdate and applies it; returns the number of rectangles.</summary>
    /// <exception cref="EndOfStreamException">The server closed the connection.</exception>
    public async Task<int> ReadUpdateAsync(CancellationToken cancellationToken)
    {
        var header = new byte[4];
        await _stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        if (header[0] != 0)
            throw new InvalidDataException($"Server message {header[0]} is not a FramebufferUpdate.");
        int rects = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        var rect = new byte[12];
        for (var r = 0; r < rects; r++)
        {
            await _stream.ReadExactlyAsync(rect, cancellationToken).ConfigureAwait(false);
            int x = BinaryPrimitives.ReadUInt16BigEndian(rect), y = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(2));
            int w = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(4)), h = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(6));
            var encoding = BinaryPrimitives.ReadInt32BigEndian(rect.AsSpan(8));
            EncodingsSeen.Add(encoding);
            if (encoding == -223)
            {
                Resize(w, h);
                continue;
            }
            var data = new byte[w * h * 4];
            if (encoding == 0)
            {
                await _stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
            }
            else if (encoding == 6)
            {
                var length = new byte[4];
                await _stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
                var compressed = new byte[BinaryPrimitives.ReadUInt32BigEndian(length)];
                await _stream.ReadExactlyAsync(compressed, cancellationToken).ConfigureAwait(false);
                _feed.Append(compressed);
                _inflate.ReadExactly(data);
            }
            else
            {
                throw new InvalidDataException($"Encoding {encoding} was not asked for.");
            }
            if (x + w > Width || y + h > Height)
                throw new InvalidDataException($"A {w}x{h} rectangle at ({x}, {y}) passes the {Width}x{Height} screen.");
            for (var row = 0; row < h; row++)
                data.AsSpan(row * w * 4, w * 4).CopyTo(Pixels.AsSpan(((y + row) * Width + x) * 4));
        }
        return rects;
    }

    /// <summary>The pixel at (<paramref name="x"/>, <paramref name="y"/>) as <c>0xRRGGBB</c>.</summary>
    public uint PixelAt(int x, int y) => BinaryPrimitives.ReadUInt32LittleEndian(Pixels.AsSpan((y * Width + x) * 4)) & 0xFFFFFF;

    public async ValueTask DisposeAsync()
    {
        await _inflate.DisposeAsync().ConfigureAwait(false);
        _tcp.Dispose();
    }

    /// <summary>The zlib encoding's one stream per connection: compressed bytes arrive rectangle by rectangle.</summary>
    private sealed class ZlibFeed : Stream
    {
        private readonly Queue<byte[]> _chunks = new();
        private int _offset;

        public void Append(byte[] chunk) => _chunks.Enqueue(chunk);

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (_chunks.Count > 0)
            {
                var chunk = _chunks.Peek();
                var n = Math.Min(buffer.Length, chunk.Length - _offset);
                if (n > 0)
                {
                    chunk.AsSpan(_offset, n).CopyTo(buffer);
                    _offset += n;
                    return n;
                }
                _chunks.Dequeue();
                _offset = 0;
            }
            return 0;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
