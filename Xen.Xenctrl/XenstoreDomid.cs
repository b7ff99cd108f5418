using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Xen.Xenctrl.Native;

namespace Xen.Xenctrl;

/// <summary>
/// Reads the one Xenstore key a domU needs to know itself, <c>domid</c> (relative to
/// <c>/local/domain/&lt;id&gt;</c>), with one <c>XS_READ</c> through <c>/dev/xen/xenbus</c>.
/// </summary>
internal static unsafe class XenstoreDomid
{
    private const uint XS_READ = 2;
    private const uint XS_ERROR = 16;
    private const int HeaderSize = 16;

    internal static bool TryRead(string xenbusPath, TimeSpan timeout, out ushort domid, out string why)
    {
        domid = 0;
        using var fd = Interop.Libc.Open(xenbusPath, Interop.Libc.O_RDWR | Interop.Libc.O_CLOEXEC | Interop.Libc.O_NONBLOCK);
        if (fd.IsInvalid)
        {
            why = $"cannot open {xenbusPath}: {Interop.Errno.Describe(Interop.Errno.Last)}";
            return false;
        }
        var request = new byte[HeaderSize + 6];
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(0), XS_READ);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(12), 6);
        "domid\0"u8.CopyTo(request.AsSpan(HeaderSize));
        fixed (byte* p = request)
        {
            if (Interop.Libc.Write(fd, p, (nuint)request.Length) != request.Length)
            {
                why = $"write to {xenbusPath} failed: {Interop.Errno.Describe(Interop.Errno.Last)}";
                return false;
            }
        }

        var reply = new byte[HeaderSize + 4096];
        var have = 0;
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (have < HeaderSize || have < HeaderSize + (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(12)), 4096u))
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                why = $"no answer from {xenbusPath} within {timeout.TotalSeconds:0} s (is xenstored running?)";
                return false;
            }
            var pfd = new Interop.Libc.pollfd { fd = fd.Fd, events = Interop.Libc.POLLIN };
            if (Interop.Libc.Poll(&pfd, 1, (int)left) <= 0)
                continue;
            fixed (byte* p = &reply[have])
            {
                var n = Interop.Libc.Read(fd, p, (nuint)(reply.Length - have));
                if (n < 0 && Interop.Errno.Last is Interop.Errno.EAGAIN or Interop.Errno.EINTR)
                    continue;
                if (n <= 0)
                {
                    why = $"read from {xenbusPath} failed: {Interop.Errno.Describe(Interop.Errno.Last)}";
                    return false;
                }
                have += (int)n;
            }
        }
        var type = BinaryPrimitives.ReadUInt32LittleEndian(reply);
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(12));
        var value = Encoding.ASCII.GetString(reply, HeaderSize, length).TrimEnd('\0');
        if (type == XS_ERROR)
        {
            why = $"Xenstore answered {value}";
            return false;
        }
        if (type != XS_READ || !ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out domid))
        {
            why = $"unexpected answer (type {type}, '{value}')";
            return false;
        }
        why = "";
        return true;
    }
}
