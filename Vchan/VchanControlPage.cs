using System.Runtime.InteropServices;
using SharedMemoryRing;

namespace Vchan;

/// <summary>
/// The shared control page's 24-byte header, libxenvchan's <c>struct vchan_interface</c>; the grant
/// refs of the ring pages follow at <see cref="GrantsOffset"/>. The left ring carries client-to-server
/// bytes, the right ring server-to-client bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VchanControlPage
{
    public ByteRingIndices Left;
    public ByteRingIndices Right;
    public ushort LeftOrder;
    public ushort RightOrder;
    public byte CliLive;
    public byte SrvLive;
    public byte CliNotify;
    public byte SrvNotify;

    /// <summary>Where <c>grants[]</c> starts: the left ring's pages, then the right ring's.</summary>
    public const int GrantsOffset = 24;

    /// <summary>Byte offsets of the header's fields, for unmap notifications and tests.</summary>
    public const int LeftOffset = 0, RightOffset = 8, LeftOrderOffset = 16, RightOrderOffset = 18,
        CliLiveOffset = 20, SrvLiveOffset = 21, CliNotifyOffset = 22, SrvNotifyOffset = 23;

    /// <summary><c>VCHAN_NOTIFY_WRITE</c>: wake me when you have written data.</summary>
    public const byte NotifyWrite = 1;

    /// <summary><c>VCHAN_NOTIFY_READ</c>: wake me when you have read (freed space).</summary>
    public const byte NotifyRead = 2;

    /// <summary>Live byte: the side has exited.</summary>
    public const byte LiveExited = 0;

    /// <summary>Live byte: the side is connected.</summary>
    public const byte LiveConnected = 1;

    /// <summary>Live byte (client only): the client has not connected yet.</summary>
    public const byte LiveWaiting = 2;
}
