#!/bin/bash
# check-framebuffer.sh <png>: Linux's xen-fbfront and xen-kbdfront against `mirage fbback --backend
# xenctrl --vnc 127.0.0.1:5900`, in a real Xen.
#
# Boots the VM once through check-linux-peers.sh with the four framebuffer checks (xen-vm/linux-peers/
# groups/framebuffer.sh says what each proves): fb-connect, fb-screenshot, kbd-typed-command, fb-resize.
# Prints "PASS <check> (<ms>) ..." or "FAIL <check>: <why>" for each, then "<n> passed, <m> failed";
# saves vncsnapshot's screenshot of the guest's console to <png>; exits 0 only if all passed. The
# checks share the netfront checks' guest: `check-linux-peers.sh netfront-ping fb-connect ...` runs
# them in one boot with the others (the test suite does). Needs root, like check-linux-peers.sh.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 <png>" >&2; exit 2; }
PNG=$1
SHOT=$HERE/linux-peers/bin/fb-screenshot.png
rm -f "$SHOT"
bash "$HERE/check-linux-peers.sh" fb-connect fb-screenshot kbd-typed-command fb-resize
rc=$?
if [ -f "$SHOT" ]; then
    cp "$SHOT" "$PNG" || { echo "FAIL fb-screenshot: cannot write $PNG"; exit 1; }
    echo "screenshot: $PNG"
elif [ $rc -eq 0 ]; then
    echo "FAIL fb-screenshot: no screenshot came back from dom0"; exit 1
fi
exit $rc
