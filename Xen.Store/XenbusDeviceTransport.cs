using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Xen.Store;

/// <summary>
/// The kernel's Xenstore device (<c>/dev/xen/xenbus</c>) as a duplex pipe. Reads wait in <c>poll</c> with a
/// short timeout rather than in a blocking <c>read</c>, so that closing the client closes the device at once:
/// the kernel drops the connection's watches and transactions only when the file is really closed.
/// </summary>
internal sealed unsafe partial class XenbusDeviceTransport : IDuplexPipe
{
    private const short PollIn = 0x001;
    private const int PollMilliseconds = 100;
    private readonly SafeFileHandle _device;
    private readonly Pipe _incoming = new(new PipeOptions(useSynchronizationContext: false));

    public XenbusDeviceTransport(string devicePath)
    {
        _device = File.OpenHandle(devicePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        // Unbuffered, so that each flush of the outbox is one write(2): the device takes one message per write.
        Output = PipeWriter.Create(new FileStream(_device, FileAccess.ReadWrite, bufferSize: 0));
        _ = Task.Factory.StartNew(ReadLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public PipeReader Input => _incoming.Reader;

    /// <summary>Writes to the device; completing it closes the device.</summary>
    public PipeWriter Output { get; }

    private void ReadLoop() => PipeFeed.Run(_incoming.Writer, XsWireHeader.Size + XsWire.PayloadMax, ReadOnce);

    private int ReadOnce(Span<byte> buffer)
    {
        var added = false;
        try
        {
            // Holds the descriptor open for this round; a closed handle ends the loop.
            if (_device.IsClosed)
                return 0;
            _device.DangerousAddRef(ref added);
            var poll = new PollFd { Fd = (int)_device.DangerousGetHandle(), Events = PollIn };
            var ready = Poll(ref poll, 1, PollMilliseconds);
            if (ready < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == 4 // EINTR
                    ? -1
                    : throw new IOException($"poll on the xenbus device failed: errno {errno}.");
            }
            if (ready == 0)
                return -1;
            // read(2) itself: the runtime's reads want a seekable file or a blocking wait.
            nint read;
            fixed (byte* bytes = buffer)
                read = Read(poll.Fd, bytes, (nuint)buffer.Length);
            if (read < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is 4 or 11 // EINTR, EAGAIN
                    ? -1
                    : throw new IOException($"read from the xenbus device failed: errno {errno}.");
            }
            return (int)read;
        }
        finally
        {
            if (added)
                _device.DangerousRelease();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);
}
