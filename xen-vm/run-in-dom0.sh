#!/bin/bash
# run-in-dom0.sh <host-folder> <command...>
#
# Boots Xen 4.17 + a Debian 6.1 PV dom0 under qemu-system-x86_64, shares <host-folder>
# into dom0 (9p; mounted at the same path, and at /host), runs <command...> there as root with
# /dev/xen/{evtchn,gntdev,gntalloc,privcmd,xenbus}, xenfs on /proc/xen and xenstored running,
# streams its stdout/stderr, powers the VM off and exits with the command's exit status.
# The host's /usr/share/dotnet (if present) is shared read-only at /usr/share/dotnet in dom0.
#
# Environment:
#   XENVM_DIR       image dir root (default ~/.cache/xen-vm; images in $XENVM_DIR/images,
#                   made by build-image.sh beside this script)
#   XENVM_ACCEL     kvm | tcg (default: kvm only if hardware KVM (kvm_intel/kvm_amd) is usable,
#                   else tcg.  A /dev/kvm that is PVM (kvm_pvm) cannot run Xen, so tcg is used
#                   there; TCG is much slower than native for CPU-heavy work)
#   XENVM_MEM       VM memory in MiB (default 4096); XENVM_DOM0_MEM dom0 memory (default 2048M)
#   XENVM_SMP       vCPUs (default: number of host CPUs, max 4)
#   XENVM_CPU       QEMU's CPU model under TCG (default max,xsave=off; see below)
#   XENVM_TIMEOUT   seconds before the VM is killed (default 1800) -> exit 124
#   XENVM_XENSTORED xenstored (C, default) | oxenstored | mirage (`mirage xenstored --backend xenctrl`,
#                   from XENVM_MIRAGE_DLL, default Mirage.Cli/bin/Debug/net10.0/mirage.dll beside this
#                   folder; it must lie inside <host-folder>; its log: /var/log/xen/mirage-xenstored.log)
#   XENVM_DOTNET    host .NET root to share (default /usr/share/dotnet; empty = none)
#   XENVM_DOM0_ARGS extra dom0 kernel args (e.g. loglevel=7); XENVM_XEN_ARGS extra Xen args
#   XENVM_KEEP=1    keep the run directory (console log) under $XENVM_DIR/runs
#   XENVM_VERBOSE=1 print boot timing / console log location to stderr
set -u

W=${XENVM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xen-vm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMG=$W/images
if [ $# -lt 2 ]; then
    echo "usage: $0 <host-folder> <command...>" >&2; exit 2
fi
HOSTDIR=$(realpath -e "$1") || { echo "no such folder: $1" >&2; exit 2; }
[ -d "$HOSTDIR" ] || { echo "not a folder: $1" >&2; exit 2; }
shift
for f in xen.elf vmlinuz initrd.cpio stamp; do
    [ -f "$IMG/$f" ] || { echo "missing $IMG/$f: run $HERE/build-image.sh first (as root)" >&2; exit 2; }
done
[ "$(cat "$IMG/stamp")" = "$("$HERE/image-stamp.sh")" ] \
    || { echo "the image in $IMG was built by other scripts: run $HERE/build-image.sh again (as root)" >&2; exit 2; }
case "$IMG" in *,*|*' '*) echo "image path must not contain ',' or ' '" >&2; exit 2;; esac

vlog() { [ "${XENVM_VERBOSE:-0}" = 1 ] && echo "[run-in-dom0] $*" >&2; return 0; }
T0=$(date +%s.%N)

# accelerator
ACCEL=${XENVM_ACCEL:-}
if [ -z "$ACCEL" ]; then
    ACCEL=tcg
    if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } \
       && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; fi
fi
if [ "$ACCEL" = kvm ]; then
    ACCEL_ARGS=(-accel kvm -cpu host)
    XEN_EXTRA=""
else
    # Without xsave=off, user processes in dom0 and in a PV guest crash at random (SIGSEGV, "malloc():
    # corrupted top size") once a second domain runs: register state saved and restored with XSAVE does
    # not survive Xen's switches between domains under QEMU 7.2's TCG. Dom0 alone runs fine either way.
    ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=512 -cpu "${XENVM_CPU:-max,xsave=off}")
    # Xen's SMAP/SMEP handling of PV guest frames trips over TCG: dom0 dies with #PF in
    # create_bounce_frame unless they are disabled.
    XEN_EXTRA="smap=0 smep=0"
    vlog "using TCG (software emulation): slow; no usable hardware KVM"
fi
NCPU=$(nproc); SMP=${XENVM_SMP:-$(( NCPU > 4 ? 4 : NCPU ))}
MEM=${XENVM_MEM:-4096}
DOM0_MEM=${XENVM_DOM0_MEM:-2048M}
XS=${XENVM_XENSTORED:-xenstored}
DOTNET=${XENVM_DOTNET-/usr/share/dotnet}

mkdir -p "$W/runs"
RUN=$(mktemp -d "$W/runs/run.XXXXXX")
QPID=; C1=; C2=
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
    for f in "$RUN/out.fifo" "$RUN/err.fifo"; do   # unblock readers if qemu never opened them
        [ -p "$f" ] && { exec 9<>"$f"; exec 9>&-; }
    done
    [ -n "$C1" ] && wait "$C1" 2>/dev/null
    [ -n "$C2" ] && wait "$C2" 2>/dev/null
    if [ "${XENVM_KEEP:-0}" = 1 ]; then vlog "run dir kept: $RUN"; else rm -rf "$RUN"; fi
}
trap 'cleanup; exit 130' INT TERM

# command script + env for dom0 /init
{
    echo '#!/bin/bash'
    printf 'exec'; printf ' %q' "$@"; echo
} > "$RUN/cmd"
HAVE_DOTNET=0; DOTNET_ARGS=()
if [ -n "$DOTNET" ] && [ -x "$DOTNET/dotnet" ]; then
    HAVE_DOTNET=1
    DOTNET_ARGS=(-virtfs "local,path=$DOTNET,mount_tag=dotnet,security_model=none,readonly=on")
fi
MIRAGE_DLL=
if [ "$XS" = mirage ]; then
    MIRAGE_DLL=$(realpath -e "${XENVM_MIRAGE_DLL:-$HERE/../Mirage.Cli/bin/Debug/net10.0/mirage.dll}") \
        || { echo "XENVM_XENSTORED=mirage: no mirage.dll (build Mirage.Cli, or set XENVM_MIRAGE_DLL)" >&2; exit 2; }
    case "$MIRAGE_DLL" in "$HOSTDIR"/*) ;; *) echo "XENVM_XENSTORED=mirage: $MIRAGE_DLL is not inside $HOSTDIR, which dom0 sees" >&2; exit 2;; esac
    [ "$HAVE_DOTNET" = 1 ] || { echo "XENVM_XENSTORED=mirage needs .NET to share (XENVM_DOTNET)" >&2; exit 2; }
fi
printf 'HOSTDIR=%q\nHAVE_DOTNET=%s\nMIRAGE_DLL=%q\n' "$HOSTDIR" "$HAVE_DOTNET" "$MIRAGE_DLL" > "$RUN/env"
mkfifo "$RUN/out.fifo" "$RUN/err.fifo"
cat "$RUN/out.fifo" & C1=$!
cat "$RUN/err.fifo" >&2 & C2=$!

hd_esc=${HOSTDIR//,/,,}
timeout -k 5 "${XENVM_TIMEOUT:-1800}" qemu-system-x86_64 \
    "${ACCEL_ARGS[@]}" -machine pc -m "$MEM" -smp "$SMP" \
    -display none -monitor none -serial "file:$RUN/console.log" -no-reboot \
    -kernel "$IMG/xen.elf" \
    -append "console=com1 com1=115200,8n1 dom0_mem=$DOM0_MEM,max:$DOM0_MEM dom0_max_vcpus=$SMP loglvl=all guest_loglvl=all $XEN_EXTRA ${XENVM_XEN_ARGS:-}" \
    -initrd "$IMG/vmlinuz console=hvc0 loglevel=4 xenvm.xenstored=$XS ${XENVM_DOM0_ARGS:-},$IMG/initrd.cpio" \
    -device virtio-serial-pci \
    -chardev "file,id=out,path=$RUN/out.fifo" -device virtserialport,chardev=out,name=out \
    -chardev "file,id=err,path=$RUN/err.fifo" -device virtserialport,chardev=err,name=err \
    -virtfs "local,path=$RUN,mount_tag=ctl,security_model=none" \
    -virtfs "local,path=$hd_esc,mount_tag=hostdir,security_model=none" \
    "${DOTNET_ARGS[@]}" &
QPID=$!
wait $QPID; QRC=$?; QPID=
T1=$(date +%s.%N)

if [ -f "$RUN/rc" ]; then
    RC=$(cat "$RUN/rc")
elif [ $QRC -eq 124 ] || [ $QRC -eq 137 ]; then
    echo "[run-in-dom0] timeout after ${XENVM_TIMEOUT:-1800}s; console log tail:" >&2
    tail -30 "$RUN/console.log" >&2; RC=124
else
    echo "[run-in-dom0] VM ended (qemu rc=$QRC) without a result; console log tail:" >&2
    tail -40 "$RUN/console.log" >&2; RC=125
fi
if [ -f "$RUN/ready" ]; then
    vlog "dom0 ready at dom0-uptime $(cat "$RUN/ready")s; accel=$ACCEL; total wall $(echo "$T1 - $T0" | bc 2>/dev/null || awk "BEGIN{print $T1-$T0}")s"
fi
vlog "console log: $RUN/console.log"
cleanup
exit "$RC"
