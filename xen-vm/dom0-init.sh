#!/bin/bash
# dom0-init.sh: PID 1 of the throw-away Xen dom0 that run-in-dom0.sh boots. Mounts what a dom0 has,
# loads Xen's device modules, mounts the host's folders over 9p, starts Xen's xenstored (or oxenstored,
# or `mirage xenstored --backend xenctrl`) and xenconsoled, runs the command from the ctl share and
# powers off. The command's exit status goes back in ctl/rc.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
log() { echo "[dom0-init $(cut -d' ' -f1 /proc/uptime)] $*" > /dev/hvc0 2>/dev/null || echo "[dom0-init] $*"; }
die() { log "FATAL: $*"; echo 126 > /run/ctl/rc 2>/dev/null; sync; echo o > /proc/sysrq-trigger; sleep 60; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/lock /run/xen /run/xenstored /run/ctl /run/tmp /var/log/xen/console /var/lib/xen /var/lib/xenstored
chmod 1777 /run/tmp
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
hostname xen-dom0
ip link set lo up

# kernel command line: xenvm.xenstored=xenstored|oxenstored|mirage
XS=xenstored
for a in $(cat /proc/cmdline); do case $a in xenvm.xenstored=*) XS=${a#*=};; esac; done

log "loading modules"
modprobe -a xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_pci virtio_console 9pnet_virtio 9p \
    || log "modprobe failed"
mount -t xenfs xenfs /proc/xen || die "mount xenfs"

# 9p shares: ctl (the command, its exit status), hostdir (the user's folder), dotnet (optional)
p9="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o $p9 ctl /run/ctl || die "mount the ctl share"

# the host's folder and .NET first: XENVM_XENSTORED=mirage runs from them
. /run/ctl/env            # HOSTDIR=..., HAVE_DOTNET=0|1, MIRAGE_DLL=...
mount -t 9p -o $p9 hostdir /host || die "mount the hostdir share"
case "$HOSTDIR" in
    /|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run|/run/*|/usr|/usr/*|/etc|/etc/*|/bin|/bin/*|/sbin|/sbin/*|/lib|/lib/*|/lib64|/lib64/*|/var|/root|/host|/host/*) WD=/host ;;
    *) mkdir -p "$HOSTDIR" && mount --bind /host "$HOSTDIR" && WD=$HOSTDIR || WD=/host ;;
esac
case "$HOSTDIR" in /tmp|/var/tmp) export TMPDIR=/run/tmp ;; esac
if [ "$HAVE_DOTNET" = 1 ]; then
    mount -t 9p -o $p9,cache=loose,ro dotnet /usr/share/dotnet || log "mount the dotnet share failed"
    export DOTNET_ROOT=/usr/share/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
           DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false
fi

log "starting $XS"
export XENSTORED_ROOTDIR=/run/xenstored
XS_WAIT=300
case $XS in
    mirage)
        # Our daemon, from the host's build (run-in-dom0.sh names the dll in MIRAGE_DLL). .NET's W^X double
        # mapping of JIT'd code traps under QEMU's TCG in dom0: map JIT'd code once. dotnet starts slowly
        # under emulation, hence the longer wait for its socket.
        [ "$HAVE_DOTNET" = 1 ] && [ -f "${MIRAGE_DLL:-}" ] || die "XENVM_XENSTORED=mirage needs .NET and MIRAGE_DLL (got '${MIRAGE_DLL:-}')"
        DOTNET_EnableWriteXorExecute=0 setsid dotnet "$MIRAGE_DLL" xenstored --backend xenctrl --socket /var/run/xenstored/socket \
            < /dev/null > /var/log/xen/mirage-xenstored.log 2>&1 &
        echo $! > /run/xenstore.pid
        XS_WAIT=1800 ;;
    *) /usr/lib/xen-4.17/bin/$XS --pid-file /run/xenstore.pid || die "$XS failed" ;;
esac
# xenstore-read falls back to /dev/xen/xenbus, which blocks forever while no daemon serves dom0
for _ in $(seq 1 $XS_WAIT); do [ -S /var/run/xenstored/socket ] && timeout 5 xenstore-read / >/dev/null 2>&1 && break; sleep 0.1; done
timeout 5 xenstore-read / >/dev/null 2>&1 || { cat /var/log/xen/*xenstore* > /dev/hvc0 2>/dev/null; die "$XS did not come up"; }
log "$XS up"
/usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null || log "xen-init-dom0 failed"
# guests' consoles go to /var/log/xen/console/guest-<name>.log, where guest.sh reads them
/usr/lib/xen-4.17/bin/xenconsoled --pid-file /run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
    || log "xenconsoled failed"
log "xen services up"

# the virtio-serial ports named out and err carry the command's output to the host
OUTP=; ERRP=
for _ in $(seq 1 100); do
    for p in /sys/class/virtio-ports/*; do
        [ -e "$p/name" ] || continue
        case $(cat "$p/name") in out) OUTP=/dev/${p##*/};; err) ERRP=/dev/${p##*/};; esac
    done
    [ -n "$OUTP" ] && [ -n "$ERRP" ] && [ -e "$OUTP" ] && [ -e "$ERRP" ] && break
    sleep 0.1
done
[ -n "$OUTP" ] || die "no virtio port named out"
mkfifo /run/o.fifo /run/e.fifo
cat /run/o.fifo > "$OUTP" & c1=$!
cat /run/e.fifo > "$ERRP" & c2=$!
cut -d' ' -f1 /proc/uptime > /run/ctl/ready
log "running the command in $WD"
( cd "$WD" && exec bash /run/ctl/cmd ) < /dev/null > /run/o.fifo 2> /run/e.fifo
rc=$?
wait $c1 $c2
log "the command exited with $rc"
echo $rc > /run/ctl/rc
sync
echo o > /proc/sysrq-trigger
sleep 60
