#!/usr/bin/env python3
"""fbcheck.py: what the framebuffer checks (groups/framebuffer.sh) do in dom0 besides the shell.

  fbcheck.py type <host:port> <text>              types <text> through an RFB connection (KeyEvents)
  fbcheck.py wait-resize <host:port> <w> <h> <ready file> <seconds>
                                                  connects, reads the first update, touches <ready file>,
                                                  then asks for updates until a DesktopSize of <w>x<h> comes
  fbcheck.py compare <fb dump> <w> <h> <stride> <screenshot.ppm> <out.png> <text lines>
                                                  compares a VNC client's screenshot with the guest's own
                                                  framebuffer bytes; writes the screenshot as a PNG

The RFB client here is the protocol of RFC 6143 (version 3.8, security None), no more than the checks
need: raw pixels and the DesktopSize pseudo-encoding (-223). Python's standard library only, as dom0
has python3-minimal.
"""
import socket
import struct
import sys
import time
import zlib

DESKTOP_SIZE = -223


def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("the server closed the connection")
        out += d
    return bytes(out)


class Rfb:
    def __init__(self, address, timeout):
        host, port = address.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=timeout)
        version = recv_exactly(self.s, 12)
        if not version.startswith(b"RFB 003."):
            raise ValueError("not an RFB server: %r" % version)
        self.s.sendall(b"RFB 003.008\n")
        count = recv_exactly(self.s, 1)[0]
        if count == 0:
            raise ValueError("the server refused: %r" % self.s.recv(1024))
        if 1 not in recv_exactly(self.s, count):
            raise ValueError("the server offers no security type None")
        self.s.sendall(b"\x01")
        if struct.unpack(">I", recv_exactly(self.s, 4))[0] != 0:
            raise ValueError("SecurityResult failed")
        self.s.sendall(b"\x01")  # ClientInit: shared
        self.width, self.height = struct.unpack(">HH", recv_exactly(self.s, 4))
        pixel_format = recv_exactly(self.s, 16)
        self.bpp = pixel_format[0] // 8
        self.name = recv_exactly(self.s, struct.unpack(">I", recv_exactly(self.s, 4))[0]).decode(errors="replace")
        self.s.sendall(struct.pack(">BBHii", 2, 0, 2, 0, DESKTOP_SIZE))  # SetEncodings: Raw, DesktopSize

    def request(self, incremental):
        self.s.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.width, self.height))

    def read_update(self):
        """Reads server messages up to the next FramebufferUpdate; returns the DesktopSizes it carried."""
        sizes = []
        while True:
            kind = recv_exactly(self.s, 1)[0]
            if kind == 0:
                break
            if kind == 2:          # Bell
                continue
            if kind == 3:          # ServerCutText
                recv_exactly(self.s, 3)
                recv_exactly(self.s, struct.unpack(">I", recv_exactly(self.s, 4))[0])
                continue
            raise ValueError("unexpected server message %d" % kind)
        recv_exactly(self.s, 1)
        (rects,) = struct.unpack(">H", recv_exactly(self.s, 2))
        for _ in range(rects):
            x, y, w, h, encoding = struct.unpack(">HHHHi", recv_exactly(self.s, 12))
            if encoding == 0:
                recv_exactly(self.s, w * h * self.bpp)
            elif encoding == DESKTOP_SIZE:
                self.width, self.height = w, h
                sizes.append((w, h))
            else:
                raise ValueError("the server sent encoding %d, which was not asked for" % encoding)
        return sizes

    def key(self, keysym, down):
        self.s.sendall(struct.pack(">BBHI", 4, 1 if down else 0, 0, keysym))


SHIFTED = set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ')
SHIFT_L, RETURN = 0xFFE1, 0xFF0D


def type_text(address, text):
    c = Rfb(address, 30)
    for ch in text:
        keysym = RETURN if ch == "\n" else ord(ch)
        shifted = ch in SHIFTED
        if shifted:
            c.key(SHIFT_L, True)
        c.key(keysym, True)
        c.key(keysym, False)
        if shifted:
            c.key(SHIFT_L, False)
    # The server reads every KeyEvent before it sees the connection end.
    c.s.shutdown(socket.SHUT_WR)
    c.s.settimeout(30)
    try:
        while c.s.recv(65536):
            pass
    except OSError:
        pass
    print("typed %d characters to %s" % (len(text), c.name))


def wait_resize(address, width, height, ready, seconds):
    c = Rfb(address, seconds)
    start = (c.width, c.height)
    c.request(False)
    c.read_update()
    open(ready, "w").close()
    deadline = time.time() + seconds
    seen = []
    try:
        while time.time() < deadline:
            c.request(True)
            for size in c.read_update():
                seen.append(size)
                if size == (width, height):
                    print("DesktopSize %dx%d (from %dx%d)" % (width, height, start[0], start[1]))
                    return 0
    except TimeoutError:
        pass  # no update at all within the time: the screen did not change
    print("no DesktopSize %dx%d within %d s (saw %s)" % (width, height, seconds, seen or "none"))
    return 1


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError("%s is not an 8-bit binary PPM" % path)
    return int(fields[1]), int(fields[2]), data[pos + 1:]


def write_png(path, width, height, rgb):
    raw = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def compare(dump, width, height, stride, ppm, png, lines):
    """The screenshot must be the guest's framebuffer: both read as RGB, a pixel is lit when a channel
    passes 64, and two pixels match when no channel differs by more than 48 (vncsnapshot writes JPEG)."""
    fb = open(dump, "rb").read()
    if len(fb) < height * stride:
        print("the guest's dump has %d bytes, not %d" % (len(fb), height * stride))
        return 1
    sw, sh, shot = read_ppm(ppm)
    write_png(png, sw, sh, shot)
    if (sw, sh) != (width, height):
        print("the screenshot is %dx%d, the guest's framebuffer %dx%d" % (sw, sh, width, height))
        return 1
    fb_lit = shot_lit = union = union_match = mismatched = 0
    lit_rows = 0
    for y in range(height):
        row = fb[y * stride:y * stride + width * 4]
        rgb = bytearray(width * 3)           # XRGB8888, little-endian: B, G, R, X
        rgb[0::3], rgb[1::3], rgb[2::3] = row[2::4], row[1::4], row[0::4]
        srow = shot[y * width * 3:(y + 1) * width * 3]
        # A row dark in both (no channel past 48) neither differs nor holds text: skip it quickly.
        if max(rgb) <= 48 and max(srow) <= 48:
            continue
        row_lit = 0
        for x in range(0, width * 3, 3):
            r, g, b = rgb[x], rgb[x + 1], rgb[x + 2]
            sr, sg, sb = srow[x], srow[x + 1], srow[x + 2]
            a = max(r, g, b) > 64
            v = max(sr, sg, sb) > 64
            same = abs(r - sr) <= 48 and abs(g - sg) <= 48 and abs(b - sb) <= 48
            fb_lit += a
            shot_lit += v
            row_lit += v
            if not same:
                mismatched += 1
            if a or v:
                union += 1
                union_match += same
        lit_rows += row_lit >= 4
    share = union_match / union if union else 0.0
    summary = ("%dx%d; lit pixels: guest %d, screenshot %d; %.2f%% of them match; %d of %d pixels differ; %d pixel rows with text"
               % (width, height, fb_lit, shot_lit, 100 * share, mismatched, width * height, lit_rows))
    problems = []
    if fb_lit < 200 * lines:
        problems.append("the guest's framebuffer holds too little text")
    if lit_rows < 8 * lines:
        problems.append("the screenshot's text rows are blank (want %d lines of text)" % lines)
    if share < 0.97 or mismatched > width * height // 1000:
        problems.append("the screenshot is not the guest's framebuffer")
    print(summary if not problems else "; ".join(problems) + ": " + summary)
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "type":
        type_text(argv[1], argv[2])
        return 0
    if len(argv) == 6 and argv[0] == "wait-resize":
        return wait_resize(argv[1], int(argv[2]), int(argv[3]), argv[4], int(argv[5]))
    if len(argv) == 8 and argv[0] == "compare":
        return compare(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5], argv[6], int(argv[7]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
