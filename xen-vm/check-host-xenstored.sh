#!/bin/bash
# check-host-xenstored.sh [--bench|--linux-backends]: `mirage xenstored --backend xenctrl` as a real Xen host's Xenstore.
#
# Builds the mirage command, boots the Xen VM once with XENVM_XENSTORED=mirage (run-in-dom0.sh;
# build-image.sh first if its image is missing or stale), so that our daemon serves dom0's ring, xl,
# xenconsoled and the guests, and runs host-xenstored/run.sh in dom0. Prints "PASS <check> (...)" or
# "FAIL <check>: <why>" for dom0-ring, xl-create, guest-xenbus, guest-netfront, guest-blkfront,
# xl-destroy-release, second-guest and hostile-guest, then "<n> passed, <m> failed"; exits 0 only if
# every check passed. Needs root (QEMU, the image). guest-netfront and guest-blkfront go through Linux's
# xen-netback and xen-blkback, then through our netback and blkback; --linux-backends leaves ours out
# (minutes less under emulation: the test suite does, since check-linux-peers.sh proves ours against
# Linux's frontends).
#
# --bench boots twice instead, with Xen's C xenstored and then with ours, and prints for each the time
# from `xl create` to the guest's netfront reaching Connected (through Linux's xen-netback).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CONFIGURATION=${CONFIGURATION:-Debug}
[ "$(id -u)" = 0 ] || { echo "check-host-xenstored.sh needs root, for QEMU and the VM image" >&2; exit 2; }

cd "$ROOT"
# MIRAGE_DLL: a mirage.dll already built (the test suite passes its own); else build one
MIRAGE=${MIRAGE_DLL:-}
if [ -z "$MIRAGE" ]; then
    dotnet build Mirage.Cli/Mirage.Cli.csproj -c "$CONFIGURATION" -v q -nologo >/tmp/check-host-xenstored.build.log 2>&1 \
        || { tail -30 /tmp/check-host-xenstored.build.log >&2; echo "FAIL build: dotnet build Mirage.Cli failed"; exit 1; }
    MIRAGE=$ROOT/Mirage.Cli/bin/$CONFIGURATION/net10.0/mirage.dll
fi
MIRAGE=$(realpath -e "$MIRAGE") || { echo "FAIL build: no $MIRAGE"; exit 1; }
# dom0 sees only $ROOT: the dll must be inside it
case "$MIRAGE" in "$ROOT"/*) ;; *) echo "FAIL build: $MIRAGE is not inside $ROOT, which dom0 sees"; exit 1;; esac

# (re)build a missing or stale image under the lock the test suite's builds take too
IMG=${XENVM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xen-vm}/images
mkdir -p "$IMG"
flock "$IMG/.build.lock" bash -c '[ "$(cat "$1/stamp" 2>/dev/null)" = "$("$2/image-stamp.sh")" ] || bash "$2/build-image.sh"' \
    _ "$IMG" "$HERE" || { echo "FAIL build: build-image.sh failed"; exit 1; }

if [ "${1:-}" = --bench ]; then
    rc=0
    for xs in xenstored mirage; do
        XENVM_XENSTORED=$xs XENVM_MIRAGE_DLL=$MIRAGE bash "$HERE/run-in-dom0.sh" "$ROOT" \
            bash "$HERE/host-xenstored/run.sh" "$MIRAGE" bench || rc=1
    done
    exit $rc
fi
MODE=ours; [ "${1:-}" = --linux-backends ] && MODE=check
exec env XENVM_XENSTORED=mirage XENVM_MIRAGE_DLL="$MIRAGE" bash "$HERE/run-in-dom0.sh" "$ROOT" \
    bash "$HERE/host-xenstored/run.sh" "$MIRAGE" "$MODE"
