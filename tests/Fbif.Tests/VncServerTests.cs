using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Fbif.Vnc;
using Mirage.Cli.Vnc;
using TestSupport;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Fbif.Tests;

/// <summary>The RFB server in front of a connected fbback, with the demo's client as the peer.</summary>
public sealed class VncServerTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly InHeapPair _pair = new();
    private readonly RecordingInput _input = new();
    private Fbback<InHeapEvents, InHeapFrames> _back = null!;
    private Fbfront<InHeapEvents, InHeapFrames> _front = null!;
    private VncServer _server = null!;

    public Task InitializeAsync()
    {
        _back = new Fbback<InHeapEvents, InHeapFrames>(_pair.Back.Events, _pair.Back.Frames, new FbbackOptions { Width = 64, Height = 48 });
        _front = Fbfront<InHeapEvents, InHeapFrames>.Allocate(_pair.Front.Events, _pair.Front.Frames, InHeapPair.BackendDomain, _back.Info);
        _back.Connect(InHeapPair.FrontendDomain, _front.Info);
        _front.Attach(_back.Info);
        _server = new VncServer(_back, _input, new VncServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Name = "test" });
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _back.DisposeAsync();
        await _front.DisposeAsync();
        _pair.Dispose();
    }

    private void Paint(int x, int y, uint rgb) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_front.Pixels[(y * _front.Geometry.LineLength + x * 4)..], rgb);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_sees_the_frontends_pixels(bool zlib)
    {
        Paint(10, 20, 0x123456);
        Paint(63, 47, 0xABCDEF);
        await using var client = await RfbClient.ConnectAsync(_server.LocalEndPoint, zlib, CancellationToken.None);
        Assert.Equal((64, 48, "test"), (client.Width, client.Height, client.Name));
        await client.RequestAsync(incremental: false, CancellationToken.None);
        await client.ReadUpdateAsync(CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(0x123456u, client.PixelAt(10, 20));
        Assert.Equal(0xABCDEFu, client.PixelAt(63, 47));
        Assert.Equal(zlib ? 6 : 0, client.EncodingsSeen.Single());
    }

    [Fact]
    public async Task An_incremental_update_carries_what_the_frontend_updated()
    {
        await using var client = await RfbClient.ConnectAsync(_server.LocalEndPoint, zlib: true, CancellationToken.None);
        await client.RequestAsync(incremental: false, CancellationToken.None);
        await client.ReadUpdateAsync(CancellationToken.None).WaitAsync(Bound);
        await client.RequestAsync(incremental: true, CancellationToken.None);
        var update = client.ReadUpdateAsync(CancellationToken.None);
        Paint(5, 6, 0xFF0000);
        Assert.True(_front.Update(new FramebufferRect(5, 6, 1, 1)));
        await update.WaitAsync(Bound);
        Assert.Equal(0xFF0000u, client.PixelAt(5, 6));
    }

    [Fact]
    public async Task A_resize_reaches_the_client_as_DesktopSize()
    {
        await using var client = await RfbClient.ConnectAsync(_server.LocalEndPoint, zlib: false, CancellationToken.None);
        await client.RequestAsync(incremental: false, CancellationToken.None);
        await client.ReadUpdateAsync(CancellationToken.None).WaitAsync(Bound);
        await client.RequestAsync(incremental: true, CancellationToken.None);
        var update = client.ReadUpdateAsync(CancellationToken.None);
        _front.Resize(32, 16);
        await update.WaitAsync(Bound);
        Assert.Equal((32, 16), (client.Width, client.Height));
        Assert.Contains(-223, client.EncodingsSeen);
    }

    [Fact]
    public async Task Keys_and_pointer_reach_the_input()
    {
        await using var client = await RfbClient.ConnectAsync(_server.LocalEndPoint, zlib: false, CancellationToken.None);
        await client.KeyAsync('a', down: true, CancellationToken.None);
        await client.PointerAsync(1, 500, 7, CancellationToken.None);
        await Until.TrueAsync(() => _input.Count == 2, "the key and the pointer at the input");
        Assert.Equal(["key down 0x61", "pointer 1 63 7"], _input.Seen);
    }

    public static TheoryData<string, byte[]> Garbage => new()
    {
        { "an unknown message type", [200] },
        { "65535 encodings", [2, 0, 0xFF, 0xFF] },
        { "a 2 GiB cut text", [6, 0, 0, 0, 0x80, 0, 0, 0] },
        { "a 12-bit pixel format", [0, 0, 0, 0, 12, 12, 0, 1, 0, 255, 0, 255, 0, 255, 0, 4, 8, 0, 0, 0] },
        { "a colour-map pixel format", [0, 0, 0, 0, 8, 8, 0, 0, 0, 255, 0, 255, 0, 255, 0, 4, 8, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_from_a_client_disconnects_it(string what, byte[] bytes)
    {
        await using var client = await RfbClient.ConnectAsync(_server.LocalEndPoint, zlib: false, CancellationToken.None);
        await Until.TrueAsync(() => _server.ClientCount == 1, "the client served");
        await client.SendRawAsync(bytes, CancellationToken.None);
        await client.RequestAsync(incremental: false, CancellationToken.None);
        // No update comes: the connection ends.
        var read = client.ReadUpdateAsync(CancellationToken.None).WaitAsync(Bound);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => read);
        Assert.True(e is EndOfStreamException or IOException, $"{what}: {e}");
        await Until.TrueAsync(() => _server.ClientCount == 0, $"the client of {what} dropped");
    }

    [Fact]
    public async Task A_client_with_another_protocol_version_is_disconnected()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.LocalEndPoint);
        var stream = tcp.GetStream();
        var version = new byte[12];
        await stream.ReadExactlyAsync(version);
        await stream.WriteAsync("HTTP/1.1 GET"u8.ToArray());
        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task An_RFB_3_3_client_gets_security_None_as_a_U32_and_then_ServerInit()
    {
        // What vncsnapshot speaks (RFC 6143, appendix A): no list of types, no SecurityResult.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.LocalEndPoint);
        var stream = tcp.GetStream();
        var version = new byte[12];
        await stream.ReadExactlyAsync(version);
        await stream.WriteAsync("RFB 003.003\n"u8.ToArray());
        var security = new byte[4];
        await stream.ReadExactlyAsync(security).AsTask().WaitAsync(Bound);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(security));
        await stream.WriteAsync(new byte[] { 1 }); // ClientInit, shared
        var init = new byte[24 + 4];
        await stream.ReadExactlyAsync(init).AsTask().WaitAsync(Bound);
        Assert.Equal((64, 48), (BinaryPrimitives.ReadUInt16BigEndian(init), BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2))));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20)));
        Assert.Equal("test"u8.ToArray(), init[24..]);
    }

    [Fact]
    public void The_PNG_encoder_writes_chunks_with_their_CRC()
    {
        var png = PngEncoder.Encode(new byte[2 * 2 * 4], 2, 2);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        // IEND's CRC is fixed by the PNG specification: AE 42 60 82.
        Assert.Equal(new byte[] { 0xAE, 0x42, 0x60, 0x82 }, png[^4..]);
    }

    private sealed class RecordingInput : IVncInput
    {
        private readonly List<string> _seen = [];

        public int Count
        {
            get
            {
                lock (_seen)
                    return _seen.Count;
            }
        }

        public string[] Seen
        {
            get
            {
                lock (_seen)
                    return [.. _seen];
            }
        }

        public ValueTask KeyAsync(bool down, uint keysym, CancellationToken cancellationToken)
        {
            lock (_seen)
                _seen.Add($"key {(down ? "down" : "up")} 0x{keysym:x}");
            return ValueTask.CompletedTask;
        }

        public ValueTask PointerAsync(byte buttons, int x, int y, CancellationToken cancellationToken)
        {
            lock (_seen)
                _seen.Add($"pointer {buttons} {x} {y}");
            return ValueTask.CompletedTask;
        }
    }
}
