/* Prints the sizes, offsets and constants of fbif.h and kbdif.h as name=value lines, for FbifLayoutTests. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/fbif.h>
#include <xen/io/kbdif.h>

#define USIZE(t) printf("sizeof_%s=%zu\n", #t, sizeof(union t))
#define OFF(t, f) printf("offsetof_%s_%s=%zu\n", #t, #f, offsetof(struct t, f))
#define CONST(c) printf("%s=%lld\n", #c, (long long)(c))

int main(void)
{
    OFF(xenfb_update, type);
    OFF(xenfb_update, x);
    OFF(xenfb_update, y);
    OFF(xenfb_update, width);
    OFF(xenfb_update, height);
    OFF(xenfb_resize, width);
    OFF(xenfb_resize, height);
    OFF(xenfb_resize, stride);
    OFF(xenfb_resize, depth);
    OFF(xenfb_resize, offset);
    OFF(xenfb_refresh_period, period);
    USIZE(xenfb_out_event);
    USIZE(xenfb_in_event);
    OFF(xenfb_page, in_cons);
    OFF(xenfb_page, in_prod);
    OFF(xenfb_page, out_cons);
    OFF(xenfb_page, out_prod);
    OFF(xenfb_page, width);
    OFF(xenfb_page, height);
    OFF(xenfb_page, line_length);
    OFF(xenfb_page, mem_length);
    OFF(xenfb_page, depth);
    OFF(xenfb_page, pd);
    printf("length_xenfb_page_pd=%zu\n", sizeof(((struct xenfb_page *)0)->pd) / sizeof(((struct xenfb_page *)0)->pd[0]));
    printf("sizeof_xenfb_page_pd_entry=%zu\n", sizeof(((struct xenfb_page *)0)->pd[0]));
    CONST(XENFB_TYPE_UPDATE);
    CONST(XENFB_TYPE_RESIZE);
    CONST(XENFB_TYPE_REFRESH_PERIOD);
    CONST(XENFB_NO_REFRESH);
    CONST(XENFB_IN_EVENT_SIZE);
    CONST(XENFB_OUT_EVENT_SIZE);
    CONST(XENFB_IN_RING_OFFS);
    CONST(XENFB_IN_RING_SIZE);
    CONST(XENFB_IN_RING_LEN);
    CONST(XENFB_OUT_RING_OFFS);
    CONST(XENFB_OUT_RING_SIZE);
    CONST(XENFB_OUT_RING_LEN);

    OFF(xenkbd_motion, rel_x);
    OFF(xenkbd_motion, rel_y);
    OFF(xenkbd_motion, rel_z);
    OFF(xenkbd_key, pressed);
    OFF(xenkbd_key, keycode);
    OFF(xenkbd_position, abs_x);
    OFF(xenkbd_position, abs_y);
    OFF(xenkbd_position, rel_z);
    USIZE(xenkbd_in_event);
    USIZE(xenkbd_out_event);
    OFF(xenkbd_page, in_cons);
    OFF(xenkbd_page, in_prod);
    OFF(xenkbd_page, out_cons);
    OFF(xenkbd_page, out_prod);
    CONST(XENKBD_TYPE_MOTION);
    CONST(XENKBD_TYPE_KEY);
    CONST(XENKBD_TYPE_POS);
    CONST(XENKBD_IN_EVENT_SIZE);
    CONST(XENKBD_IN_RING_OFFS);
    CONST(XENKBD_IN_RING_SIZE);
    CONST(XENKBD_IN_RING_LEN);
    CONST(XENKBD_OUT_RING_OFFS);
    CONST(XENKBD_OUT_RING_SIZE);
    CONST(XENKBD_OUT_RING_LEN);
    return 0;
}
