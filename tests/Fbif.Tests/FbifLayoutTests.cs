using Fbif;
using Kbdif;
using SharedMemoryRing;
using TestSupport;

namespace Fbif.Tests;

/// <summary>The events, page fields and rings against what gcc says of <c>xen/io/fbif.h</c> and <c>kbdif.h</c> (x86-64).</summary>
public sealed class FbifLayoutTests
{
    // Where a distinctive value landed in an event the C# code wrote: its field's offset.
    private static long At(Action<Span<byte>> write, int value)
    {
        var evt = new byte[40];
        write(evt);
        var bytes = BitConverter.GetBytes(value);
        return evt.AsSpan().IndexOf(bytes);
    }

    [Fact]
    public void Events_pages_and_rings_match_the_C_headers()
    {
        var probe = CProgram.Compile("probe.c").RunProbe();
        var fbIn = EventRingLayout.FramebufferIn;
        var fbOut = EventRingLayout.FramebufferOut;
        var kbdIn = EventRingLayout.KeyboardIn;
        var kbdOut = EventRingLayout.KeyboardOut;
        var keyEvent = new byte[40];
        KbdifEvent.Key(0x0A0B0C0D, pressed: true).Write(keyEvent);
        ProbeAssert.Matches(probe, new Dictionary<string, long>
        {
            ["offsetof_xenfb_update_type"] = 0,
            ["offsetof_xenfb_update_x"] = At(e => new FbifUpdate(0x11111111, 2, 3, 4).Write(e), 0x11111111),
            ["offsetof_xenfb_update_y"] = At(e => new FbifUpdate(1, 0x22222222, 3, 4).Write(e), 0x22222222),
            ["offsetof_xenfb_update_width"] = At(e => new FbifUpdate(1, 2, 0x33333333, 4).Write(e), 0x33333333),
            ["offsetof_xenfb_update_height"] = At(e => new FbifUpdate(1, 2, 3, 0x44444444).Write(e), 0x44444444),
            ["offsetof_xenfb_resize_width"] = At(e => new FbifResize(0x11111111, 2, 3, 4, 5).Write(e), 0x11111111),
            ["offsetof_xenfb_resize_height"] = At(e => new FbifResize(1, 0x22222222, 3, 4, 5).Write(e), 0x22222222),
            ["offsetof_xenfb_resize_stride"] = At(e => new FbifResize(1, 2, 0x33333333, 4, 5).Write(e), 0x33333333),
            ["offsetof_xenfb_resize_depth"] = At(e => new FbifResize(1, 2, 3, 0x44444444, 5).Write(e), 0x44444444),
            ["offsetof_xenfb_resize_offset"] = At(e => new FbifResize(1, 2, 3, 4, 0x55555555).Write(e), 0x55555555),
            ["offsetof_xenfb_refresh_period_period"] = At(e => new FbifRefreshPeriod(0x66666666).Write(e), 0x66666666),
            ["sizeof_xenfb_out_event"] = FbifConstants.EventSize,
            ["sizeof_xenfb_in_event"] = FbifConstants.EventSize,
            ["offsetof_xenfb_page_in_cons"] = fbIn.ConsOffset,
            ["offsetof_xenfb_page_in_prod"] = fbIn.ProdOffset,
            ["offsetof_xenfb_page_out_cons"] = fbOut.ConsOffset,
            ["offsetof_xenfb_page_out_prod"] = fbOut.ProdOffset,
            ["offsetof_xenfb_page_width"] = FbifConstants.WidthField,
            ["offsetof_xenfb_page_height"] = FbifConstants.HeightField,
            ["offsetof_xenfb_page_line_length"] = FbifConstants.LineLengthField,
            ["offsetof_xenfb_page_mem_length"] = FbifConstants.MemLengthField,
            ["offsetof_xenfb_page_depth"] = FbifConstants.DepthField,
            ["offsetof_xenfb_page_pd"] = FbifConstants.PageDirectoryField,
            ["length_xenfb_page_pd"] = FbifConstants.PageDirectoryLength,
            ["sizeof_xenfb_page_pd_entry"] = 4096 / FbifConstants.FramesPerDirectoryPage,
            ["XENFB_TYPE_UPDATE"] = FbifConstants.TypeUpdate,
            ["XENFB_TYPE_RESIZE"] = FbifConstants.TypeResize,
            ["XENFB_TYPE_REFRESH_PERIOD"] = FbifConstants.TypeRefreshPeriod,
            ["XENFB_NO_REFRESH"] = FbifConstants.NoRefresh,
            ["XENFB_IN_EVENT_SIZE"] = fbIn.EventSize,
            ["XENFB_OUT_EVENT_SIZE"] = fbOut.EventSize,
            ["XENFB_IN_RING_OFFS"] = fbIn.RingOffset,
            ["XENFB_IN_RING_SIZE"] = fbIn.RingSize,
            ["XENFB_IN_RING_LEN"] = fbIn.Length,
            ["XENFB_OUT_RING_OFFS"] = fbOut.RingOffset,
            ["XENFB_OUT_RING_SIZE"] = fbOut.RingSize,
            ["XENFB_OUT_RING_LEN"] = fbOut.Length,

            ["offsetof_xenkbd_motion_rel_x"] = At(e => KbdifEvent.Motion(0x11111111, 2, 3).Write(e), 0x11111111),
            ["offsetof_xenkbd_motion_rel_y"] = At(e => KbdifEvent.Motion(1, 0x22222222, 3).Write(e), 0x22222222),
            ["offsetof_xenkbd_motion_rel_z"] = At(e => KbdifEvent.Motion(1, 2, 0x33333333).Write(e), 0x33333333),
            ["offsetof_xenkbd_key_pressed"] = Array.IndexOf(keyEvent, (byte)1, 1),
            ["offsetof_xenkbd_key_keycode"] = At(e => KbdifEvent.Key(0x0A0B0C0D, true).Write(e), 0x0A0B0C0D),
            ["offsetof_xenkbd_position_abs_x"] = At(e => KbdifEvent.Position(0x11111111, 2, 3).Write(e), 0x11111111),
            ["offsetof_xenkbd_position_abs_y"] = At(e => KbdifEvent.Position(1, 0x22222222, 3).Write(e), 0x22222222),
            ["offsetof_xenkbd_position_rel_z"] = At(e => KbdifEvent.Position(1, 2, 0x33333333).Write(e), 0x33333333),
            ["sizeof_xenkbd_in_event"] = KbdifConstants.EventSize,
            ["sizeof_xenkbd_out_event"] = KbdifConstants.EventSize,
            ["offsetof_xenkbd_page_in_cons"] = kbdIn.ConsOffset,
            ["offsetof_xenkbd_page_in_prod"] = kbdIn.ProdOffset,
            ["offsetof_xenkbd_page_out_cons"] = kbdOut.ConsOffset,
            ["offsetof_xenkbd_page_out_prod"] = kbdOut.ProdOffset,
            ["XENKBD_TYPE_MOTION"] = KbdifConstants.TypeMotion,
            ["XENKBD_TYPE_KEY"] = KbdifConstants.TypeKey,
            ["XENKBD_TYPE_POS"] = KbdifConstants.TypePosition,
            ["XENKBD_IN_EVENT_SIZE"] = kbdIn.EventSize,
            ["XENKBD_IN_RING_OFFS"] = kbdIn.RingOffset,
            ["XENKBD_IN_RING_SIZE"] = kbdIn.RingSize,
            ["XENKBD_IN_RING_LEN"] = kbdIn.Length,
            ["XENKBD_OUT_RING_OFFS"] = kbdOut.RingOffset,
            ["XENKBD_OUT_RING_SIZE"] = kbdOut.RingSize,
            ["XENKBD_OUT_RING_LEN"] = kbdOut.Length,
        });
    }
}
