using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace Netif.Links;

/// <summary>
/// A Linux TAP device (<c>/dev/net/tun</c>, <c>IFF_TAP | IFF_NO_PI</c>, with a virtio-net header) as a
/// netback's link: frames the frontend sends go to the kernel, frames the kernel sends come back.
/// Checksum-blank and GSO frames are handed to the kernel with the header that asks it to finish them.
/// One thread reads the device into a bounded queue; writes go straight to the device. Needs
/// CAP_NET_ADMIN to create the interface.
/// </summary>
public sealed unsafe class TapLink : INetworkLink, IDisposable
{
    private const int VnetHeader = 10;
    private const byte NeedsCsum = 1, DataValid = 2;
    private const byte GsoTcpV4 = 1, GsoTcpV6 = 4;

    private readonly SafeFd _fd;
    private readonly Channel<QueuedFrame> _in;
    private readonly Thread _reader;
    private readonly Lock _reading = new();
    private volatile bool _stopping;
    private long _dropped, _writeErrors;

    private TapLink(SafeFd fd, string name, int capacity)
    {
        _fd = fd;
        Name = name;
        _in = Channel.CreateBounded<QueuedFrame>(new BoundedChannelOptions(capacity) { SingleWriter = true });
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"tap {name}" };
        _reader.Start();
    }

    /// <summary>The interface's name.</summary>
    public string Name { get; }

    /// <summary>Frames from the kernel dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames the kernel refused.</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    /// <summary>Creates (or attaches to) the TAP interface <paramref name="name"/>.</summary>
    /// <exception cref="IOException">The device could not be opened or the interface created.</exception>
    public static TapLink Open(string name, int capacity = NetworkLink.DefaultCapacity)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length > 15)
            throw new ArgumentException("An interface name has at most 15 characters.", nameof(name));
        var fd = Interop.Libc.Open("/dev/net/tun", Interop.Libc.O_RDWR);
        if (fd.IsInvalid)
        {
            var openError = Interop.Errno.Message("open", "/dev/net/tun");
            fd.Dispose();
            throw new IOException(openError);
        }
        var request = default(Interop.Tun.ifreq);
        bytes.CopyTo(new Span<byte>(request.ifr_name, 16));
        request.ifr_flags = Interop.Tun.IFF_TAP | Interop.Tun.IFF_NO_PI | Interop.Tun.IFF_VNET_HDR;
        if (Interop.Libc.Ioctl(fd, Interop.Tun.TUNSETIFF, &request) < 0)
        {
            var error = Interop.Errno.Describe(Interop.Errno.Last);
            fd.Dispose();
            throw new IOException($"Cannot create TAP interface '{name}' (TUNSETIFF): {error}");
        }
        return new TapLink(fd, name, capacity);
    }

    /// <summary>
    /// Hands a frame to the kernel, which queues it or drops it: the device is never full to us. A
    /// frame the kernel refuses, because the interface is down (EIO) or the frame is malformed
    /// (EINVAL), is dropped as a NIC drops it and counted in <see cref="WriteErrors"/>.
    /// </summary>
    /// <exception cref="IOException">The interface was deleted: it will never take a frame again.</exception>
    public bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload)
    {
        var header = stackalloc byte[VnetHeader];
        new Span<byte>(header, VnetHeader).Clear();
        if (offload.Checksum == FrameChecksum.Blank || offload.IsGso)
            DescribeOffload(frame, offload, new Span<byte>(header, VnetHeader));
        fixed (byte* data = frame)
        {
            var iov = stackalloc Interop.Libc.iovec[2];
            iov[0] = new Interop.Libc.iovec { iov_base = header, iov_len = VnetHeader };
            iov[1] = new Interop.Libc.iovec { iov_base = data, iov_len = (nuint)frame.Length };
            while (Interop.Libc.WriteV(_fd, iov, 2) < 0)
            {
                var errno = Interop.Errno.Last;
                if (errno == Interop.Errno.EINTR)
                    continue;
                if (errno == Interop.Errno.EBADFD)
                    throw new IOException($"The TAP interface '{Name}' was deleted.");
                Interlocked.Increment(ref _writeErrors);
                break;
            }
        }
        return true;
    }

    // The virtio-net header for a frame whose checksum (and segmentation) the kernel is to finish:
    // where the checksum starts and where it goes, from the IP and TCP/UDP headers.
    private static void DescribeOffload(ReadOnlySpan<byte> frame, FrameOffload offload, Span<byte> header)
    {
        if (frame.Length < Frames.EthernetHeader + 20)
            return;
        var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        int l3 = Frames.EthernetHeader, l4;
        byte protocol;
        if (etherType == 0x0800)
        {
            l4 = l3 + (frame[l3] & 0xF) * 4;
            protocol = frame[l3 + 9];
        }
        else if (etherType == 0x86DD && frame.Length >= l3 + 40)
        {
            l4 = l3 + 40;
            protocol = frame[l3 + 6];
        }
        else
            return;
        int csumOffset = protocol switch { 6 => 16, 17 => 6, _ => -1 };
        if (csumOffset < 0 || l4 + csumOffset + 2 > frame.Length)
            return;
        header[0] = NeedsCsum;
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)l4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)csumOffset);
        if (offload.IsGso && protocol == 6 && l4 + 13 < frame.Length)
        {
            header[1] = offload.GsoType == NetifGsoType.TcpV6 ? GsoTcpV6 : GsoTcpV4;
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)(l4 + (frame[l4 + 12] >> 4) * 4));
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], offload.GsoSize);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(!_stopping);

    /// <inheritdoc />
    public bool TryRead(Span<byte> destination, out ReceivedFrame frame) => QueueLink.TryReadFrom(_in.Reader, _reading, destination, out frame);

    /// <inheritdoc />
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => _in.Reader.WaitToReadAsync(cancellationToken);

    private void ReadLoop()
    {
        var buffer = new byte[VnetHeader + Frames.MaxFrame];
        // The descriptor number stays valid while the loop runs: Dispose stops the thread before it closes the handle.
        var poll = new Interop.Libc.pollfd { fd = _fd.Fd, events = Interop.Libc.POLLIN };
        fixed (byte* p = buffer)
        {
            while (!_stopping)
            {
                // Poll with a timeout so that Dispose can stop the thread.
                if (Interop.Libc.Poll(&poll, 1, 200) <= 0)
                    continue;
                var n = Interop.Libc.Read(_fd, p, (nuint)buffer.Length);
                if (n < 0)
                {
                    var errno = Interop.Errno.Last;
                    if (errno is Interop.Errno.EINTR or Interop.Errno.EAGAIN)
                        continue;
                    break;
                }
                var length = (int)n - VnetHeader;
                if (length < Frames.EthernetHeader)
                    continue;
                var copy = ArrayPool<byte>.Shared.Rent(length);
                buffer.AsSpan(VnetHeader, length).CopyTo(copy);
                var offload = (buffer[0] & DataValid) != 0 ? new FrameOffload(FrameChecksum.Validated) : default;
                if (!_in.Writer.TryWrite(new QueuedFrame(copy, length, offload)))
                {
                    ArrayPool<byte>.Shared.Return(copy);
                    Interlocked.Increment(ref _dropped);
                }
            }
        }
        _in.Writer.TryComplete();
    }

    /// <summary>Stops the reader and closes the device; the interface goes away with it.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (Thread.CurrentThread != _reader)
            _reader.Join();
        _fd.Dispose();
    }
}
