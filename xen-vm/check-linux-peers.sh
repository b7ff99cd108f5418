#!/bin/bash
# check-linux-peers.sh [<check>...]: our drivers against Linux's own, in a real Xen.
#
# Builds the mirage command and the C programs the checks use, boots the Xen VM once (run-in-dom0.sh;
# build-image.sh first if its image is missing or stale) and runs every check in dom0, where Linux
# guests come and go with xl (guest.sh). Prints "PASS <check> (<ms>)" or "FAIL <check>: <why>" for
# each, then "<n> passed, <m> failed"; exits 0 only if every check passed. Names limit the run to those
# checks. Needs root (QEMU, the image) and about ten minutes under software emulation.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CONFIGURATION=${CONFIGURATION:-Debug}
[ "$(id -u)" = 0 ] || { echo "check-linux-peers.sh needs root, for QEMU and the VM image" >&2; exit 2; }

cd "$ROOT"
# MIRAGE_DLL: a mirage.dll already built (the test suite passes its own); else build one
MIRAGE=${MIRAGE_DLL:-}
if [ -z "$MIRAGE" ]; then
    dotnet build Mirage.Cli/Mirage.Cli.csproj -c "$CONFIGURATION" -v q -nologo >/tmp/check-linux-peers.build.log 2>&1 \
        || { tail -30 /tmp/check-linux-peers.build.log >&2; echo "FAIL build: dotnet build Mirage.Cli failed"; exit 1; }
    MIRAGE=$ROOT/Mirage.Cli/bin/$CONFIGURATION/net10.0/mirage.dll
fi
bash "$HERE/linux-peers/build.sh" "$HERE/linux-peers/bin" || { echo "FAIL build: linux-peers/build.sh failed"; exit 1; }

# (re)build a missing or stale image under the lock the test suite's builds take too
IMG=${XENVM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xen-vm}/images
mkdir -p "$IMG"
flock "$IMG/.build.lock" bash -c '[ "$(cat "$1/stamp" 2>/dev/null)" = "$("$2/image-stamp.sh")" ] || bash "$2/build-image.sh"' \
    _ "$IMG" "$HERE" || { echo "FAIL build: build-image.sh failed"; exit 1; }
exec bash "$HERE/run-in-dom0.sh" "$ROOT" bash "$HERE/linux-peers/run-all.sh" "$MIRAGE" "$@"
