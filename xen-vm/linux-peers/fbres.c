// fbres <width> <height>: asks a Linux framebuffer (/dev/fb0) for a new visible mode, as fbset would
// (FBIOPUT_VSCREENINFO, linux/fb.h), and prints the mode the driver then reports. Runs in the guest of
// the framebuffer checks: xen-fbfront turns the new mode into a resize event for its backend.
// link: -static
#include <fcntl.h>
#include <linux/fb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fbres <width> <height>\n");
        return 2;
    }
    int fd = open("/dev/fb0", O_RDWR);
    if (fd < 0) { perror("open /dev/fb0"); return 1; }
    struct fb_var_screeninfo var;
    if (ioctl(fd, FBIOGET_VSCREENINFO, &var) < 0) { perror("FBIOGET_VSCREENINFO"); return 1; }
    var.xres = var.xres_virtual = (unsigned)atoi(argv[1]);
    var.yres = var.yres_virtual = (unsigned)atoi(argv[2]);
    var.xoffset = var.yoffset = 0;
    var.activate = FB_ACTIVATE_NOW;
    if (ioctl(fd, FBIOPUT_VSCREENINFO, &var) < 0) { perror("FBIOPUT_VSCREENINFO"); return 1; }
    if (ioctl(fd, FBIOGET_VSCREENINFO, &var) < 0) { perror("FBIOGET_VSCREENINFO"); return 1; }
    printf("%ux%u %u bpp\n", var.xres, var.yres, var.bits_per_pixel);
    close(fd);
    return 0;
}
