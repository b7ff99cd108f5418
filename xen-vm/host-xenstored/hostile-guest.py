# hostile-guest.py <domid> [<seconds>]: writes a running guest's Xenstore page as a hostile guest would,
# from dom0, and waits for the daemon's answer.
#
# The page is the guest's real one: dom0 maps the guest's grant 1 (GNTTAB_RESERVED_XENSTORE) through
# /dev/xen/gntdev, as the daemon does. The guest's kernel is the other writer and checks the indices
# too (it resets a broken ring as soon as it next looks), so the daemon must look first: the response
# ring's consumer index, which only the guest writes, is moved 5000 bytes past the producer (more than
# the 1024-byte ring holds), and at once dom0 writes a node under the guest's device/, which the
# guest's xenbus watches: the daemon's next move is to put that watch event in the broken ring.
# xs_wire.h: a daemon that finds the ring indices broken sets the page's error field to
# XENSTORE_ERROR_RINGIDX (2) and stops serving the ring. Prints what it saw; exits 0 if the daemon did.
import fcntl, mmap, os, struct, subprocess, sys, time

domid = int(sys.argv[1])
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 120
# xen/gntdev.h: IOCTL_GNTDEV_MAP_GRANT_REF = _IOC(_IOC_NONE, 'G', 0, sizeof(struct ioctl_gntdev_map_grant_ref))
IOCTL_GNTDEV_MAP_GRANT_REF = (24 << 16) | (ord('G') << 8) | 0
# xs_wire.h: struct xenstore_domain_interface
RSP_CONS, RSP_PROD, ERROR = 2056, 2060, 2072
XENSTORE_ERROR_RINGIDX = 2

fd = os.open("/dev/xen/gntdev", os.O_RDWR)
arg = bytearray(struct.pack("<IIQII", 1, 0, 0, domid, 1))
fcntl.ioctl(fd, IOCTL_GNTDEV_MAP_GRANT_REF, arg)
index = struct.unpack_from("<Q", arg, 8)[0]
page = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=index)

u32 = lambda off: struct.unpack_from("<I", page, off)[0]
print("before: rsp_cons %d rsp_prod %d error %d" % (u32(RSP_CONS), u32(RSP_PROD), u32(ERROR)))
struct.pack_into("<I", page, RSP_CONS, (u32(RSP_PROD) + 5000) & 0xFFFFFFFF)
subprocess.run(["xenstore-write", "/local/domain/%d/device/hostile-poke" % domid, "1"], check=True)
deadline = time.time() + limit
while u32(ERROR) != XENSTORE_ERROR_RINGIDX and time.time() < deadline:
    time.sleep(0.2)
error = u32(ERROR)
print("after: rsp_cons %d rsp_prod %d error %d" % (u32(RSP_CONS), u32(RSP_PROD), error))
page.close()
os.close(fd)
sys.exit(0 if error == XENSTORE_ERROR_RINGIDX else 1)
