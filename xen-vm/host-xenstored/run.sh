#!/bin/bash
# run.sh <mirage.dll> [bench|ours]: runs in dom0 (check-host-xenstored.sh boots it with XENVM_XENSTORED=mirage,
# so that `mirage xenstored --backend xenctrl` is the host's Xenstore). Each check prints
# "PASS <check> (<ms> ms[; what it saw])" or "FAIL <check>: <why>", then the totals; exits 0 only if
# all passed. With "bench" (under any daemon) it only times xl create to the guest's netfront Connected.
#
# One guest (hx1) serves the first checks; Linux's xen-netback and xen-blkback serve its vif 1 and
# xvdb. With "ours", they are then unloaded and our netback and blkback serve vif 0 and xvda too (once
# loaded, Linux's backends take every backend directory of their type in dom0, ours too). The test suite
# leaves ours out: linux-peers proves them against Linux's frontends, and each costs a .NET start under
# emulation. dom0 writes Linux's devices' keys as `xl network-attach`/`block-attach` and their hotplug
# scripts would (see linux-peers/).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH=$PATH:$(dirname "$HERE")          # guest.sh
MIRAGE=$(realpath "$1"); shift
MODE=${1:-check}
XS=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^xenvm.xenstored=//p'); XS=${XS:-xenstored}
XSLOG=/var/log/xen/mirage-xenstored.log
CONSOLE=/var/log/xen/console
WORK=$(mktemp -d /run/tmp/host-xenstored.XXXXXX)
MAC_L=00:16:3e:15:00:02        # vif 1, Linux's netback: dom0 vif<domid>.1 10.15.0.1, guest 10.15.0.2
MAC_O=00:16:3e:15:01:02        # vif 0, our netback: dom0 hx0 10.15.1.1, guest 10.15.1.2
PIDS=()

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.2; done
}
sha() { dd if="$1" bs=65536 count=16 2>/dev/null | sha256sum | cut -d' ' -f1; }
console_has() { tr -d '\r' < "$CONSOLE/guest-$1.log" 2>/dev/null | grep -q "$2"; }
console_line() { tr -d '\r' < "$CONSOLE/guest-$1.log" 2>/dev/null | grep -o "$2.*" | head -1; }
state_is() { [ "$(xenstore-read "$1/state" 2>/dev/null)" = "$2" ]; }
cleanup() {
    local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for d in $(xl list 2>/dev/null | awk 'NR > 2 { print $1 }'); do xl destroy "$d" 2>/dev/null; done
}
trap cleanup EXIT

# start <name>: xl create with guest-script.sh; sets DOMID and T_CREATE
start() {
    T_CREATE=$EPOCHREALTIME
    DOMID=$(GUEST_MEMORY=256 guest.sh start "$1" "$HERE/guest-script.sh" 2>"$WORK/create-$1.err") || { cat "$WORK/create-$1.err"; return 1; }
}

# linux_vif / linux_vbd: vif 1 and xvdb for $DOMID, served by Linux's backends. Each directory is its
# owner's and readable by the other end, and the backend's state comes last, so that each driver
# probes once and succeeds (linux-peers/groups/linux-backends.sh says why).
linux_vif() {
    local fe=/local/domain/$DOMID/device/vif/1 be=/local/domain/0/backend/vif/$DOMID/1
    xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$DOMID" "$be/handle" 1 "$be/mac" $MAC_L \
            "$be/script" /etc/xen/scripts/vif-route "$be/type" vif "$be/online" 1 "$be/hotplug-status" connected &&
        xenstore-chmod -r "$be" n0 "r$DOMID" &&
        xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/handle" 1 "$fe/mac" $MAC_L "$fe/state" 1 &&
        xenstore-chmod -r "$fe" "n$DOMID" r0 &&
        xenstore-write "$be/state" 1 && xenstore-chmod "$be/state" n0 "r$DOMID"
}
linux_vbd() {
    local fe=/local/domain/$DOMID/device/vbd/51728 be=/local/domain/0/backend/vbd/$DOMID/51728 loop
    loop=$(losetup -f --show "$WORK/linux.img") || return 1
    echo "$loop" > "$WORK/loop"
    xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$DOMID" "$be/params" "$loop" "$be/type" phy "$be/mode" w \
            "$be/online" 1 "$be/removable" 0 "$be/bootable" 1 "$be/dev" xvdb "$be/device-type" disk \
            "$be/physical-device" "$(stat -L -c '%t:%T' "$loop")" &&
        xenstore-chmod -r "$be" n0 "r$DOMID" &&
        xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/virtual-device" 51728 "$fe/device-type" disk "$fe/state" 1 &&
        xenstore-chmod -r "$fe" "n$DOMID" r0 &&
        xenstore-write "$be/state" 1 && xenstore-chmod "$be/state" n0 "r$DOMID"
}
# linux_detach <backend dir> <frontend dir>: as `xl network-detach`/`block-detach`: offline and
# Closing; once the backend has closed, the directories go
linux_detach() {
    xenstore-write "$1/online" 0 "$1/state" 5
    wait_until 60 bash -c "s=\$(xenstore-read $1/state 2>/dev/null); [ -z \"\$s\" ] || [ \"\$s\" = 6 ]"
    xenstore-rm "$1"; xenstore-rm "$2"
}

# netfront_connected: waits for vif 1's frontend to reach Connected; prints the seconds since xl create
netfront_connected() {
    wait_until 900 state_is "/local/domain/$DOMID/device/vif/1" 4 || return 1
    awk -v a="$T_CREATE" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

FAILED=0; PASSED=0
run() {
    local name=$1 start=$EPOCHREALTIME status why; shift
    "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; status=$?
    why=$(tr '\n' ' ' < "$WORK/$name.out" | sed 's/ *$//')
    if [ $status -eq 0 ]; then
        echo "PASS $name ($(since "$start") ms${why:+; $why})"; PASSED=$((PASSED + 1))
    else
        echo "FAIL $name: ${why:-failed}"; FAILED=$((FAILED + 1))
        tail -40 "$WORK/$name.err" | sed 's/^/  /'
    fi
}

if [ "$MODE" = bench ]; then
    modprobe -a xen-netback || exit 1
    start hxb || exit 1
    linux_vif || exit 1
    t=$(netfront_connected) || { echo "FAIL bench: the guest's netfront never connected"; exit 1; }
    echo "BENCH $XS netfront-connected ${t}s after xl create"
    exit 0
fi

[ "$XS" = mirage ] || { echo "FAIL setup: dom0 runs $XS, not mirage (XENVM_XENSTORED=mirage)"; exit 1; }

check_dom0_ring() {
    kill -0 "$(cat /run/xenstore.pid)" || { echo "the daemon is not running"; return 1; }
    grep -q "serving dom0's ring" "$XSLOG" || { echo "the daemon does not say it serves dom0's ring"; cat "$XSLOG" >&2; return 1; }
    # /dev/xen/xenbus is Linux's own xenbus client, on the xsd_kva ring; the socket is the daemon's
    XENSTORED_PATH=/dev/xen/xenbus timeout 20 xenstore-write /local/domain/0/hx-ring "through the ring" \
        || { echo "a write through dom0's ring failed"; return 1; }
    [ "$(timeout 20 xenstore-read /local/domain/0/hx-ring)" = "through the ring" ] || { echo "the socket does not read what the ring wrote"; return 1; }
    timeout 20 xenstore-write /local/domain/0/hx-socket "through the socket" &&
        [ "$(XENSTORED_PATH=/dev/xen/xenbus timeout 20 xenstore-read /local/domain/0/hx-socket)" = "through the socket" ] \
        || { echo "the ring does not read what the socket wrote"; return 1; }
    [ "$(xenstore-read /local/domain/0/name)" = Domain-0 ] || { echo "xen-init-dom0 wrote no name"; return 1; }
    echo "xsd_port $(cat /proc/xen/xsd_port)"
}

check_xl_create() {
    modprobe -a xen-netback xen-blkback loop tun || { echo "cannot load Linux's backends"; return 1; }
    head -c 4M /dev/urandom > "$WORK/linux.img"; head -c 4M /dev/urandom > "$WORK/ours.img"
    start hx1 || { echo "xl create failed"; return 1; }
    echo "$DOMID" > "$WORK/domid1"
    # Linux's devices at once, so that the netfront figure runs from xl create to Connected
    linux_vif || { echo "cannot write vif 1's keys"; return 1; }
    linux_vbd || { echo "cannot write xvdb's keys"; return 1; }
    xl list hx1 >&2 || { echo "xl list does not show hx1"; return 1; }
    [ "$(xenstore-read "/local/domain/$DOMID/name")" = hx1 ] || { echo "no /local/domain/$DOMID/name"; return 1; }
    grep -q "Domain $DOMID introduced" "$XSLOG" || { echo "the daemon did not log the INTRODUCE of $DOMID"; return 1; }
    echo "domain $DOMID"
}

check_guest_xenbus() {
    wait_until 900 console_has hx1 '^GUEST-READY' || { echo "no GUEST-READY on hx1's console"; tail -20 "$CONSOLE/guest-hx1.log" >&2; return 1; }
    wait_until 120 console_has hx1 'XENBUS name=' || { echo "the guest's script said nothing"; return 1; }
    local line; line=$(console_line hx1 'XENBUS name=')
    [ "$line" = "XENBUS name=hx1 domid=$DOMID" ] || { echo "the guest read '$line' through its xenbus"; return 1; }
    echo "console up; the guest's own xenbus read its name and domid"
}

check_guest_netfront() {
    local t vif=vif$DOMID.1 fe=/local/domain/$DOMID/device/vif
    t=$(netfront_connected) || { echo "Linux's netback: the frontend never connected"; xenstore-ls -f "$fe" >&2; return 1; }
    echo "BENCH mirage netfront-connected ${t}s after xl create" >&2
    wait_until 60 ip link show "$vif" || { echo "xen-netback made no $vif"; return 1; }
    ip addr add 10.15.0.1/24 dev "$vif" && ip link set "$vif" up
    wait_until 300 ping -c 1 -W 2 10.15.0.2 || { echo "no ping through Linux's netback"; return 1; }
    linux_detach "/local/domain/0/backend/vif/$DOMID/1" "$fe/1"
    rmmod xen-netback || { echo "cannot unload xen-netback"; return 1; }
    [ "$MODE" = ours ] || { echo "Linux's netback: Connected ${t} s after xl create, ping"; return 0; }
    DOTNET_EnableWriteXorExecute=0 dotnet "$MIRAGE" netback --backend xenctrl --frontend-domain "$DOMID" --device 0 \
        --tap hx0 --mac $MAC_O --queues 1 > "$WORK/netback.log" 2>&1 &
    PIDS+=($!)
    wait_until 600 ip link show hx0 || { echo "our netback made no TAP"; cat "$WORK/netback.log" >&2; return 1; }
    ip addr add 10.15.1.1/24 dev hx0 && ip link set hx0 up
    wait_until 300 ping -c 1 -W 2 10.15.1.2 || { echo "no ping through our netback"; cat "$WORK/netback.log" >&2; return 1; }
    echo "Linux's netback: Connected ${t} s after xl create, ping; ours: ping"
}

check_guest_blkfront() {
    local fe=/local/domain/$DOMID/device/vbd be=/local/domain/0/backend/vbd/$DOMID
    # Linux's blkback first (xvdb), then ours (xvda)
    wait_until 600 console_has hx1 'BLK xvdb' || { echo "xvdb never came from Linux's blkback"; xenstore-ls -f "$be" >&2; return 1; }
    [ "$(console_line hx1 'BLK xvdb')" = "BLK xvdb $(sha "$WORK/linux.img")" ] || { echo "xvdb reads wrong: $(console_line hx1 'BLK xvdb')"; return 1; }
    linux_detach "$be/51728" "$fe/51728"
    losetup -d "$(cat "$WORK/loop")"
    rmmod xen-blkback || { echo "cannot unload xen-blkback"; return 1; }
    [ "$MODE" = ours ] || { echo "xvdb through Linux's blkback read as written"; return 0; }
    DOTNET_EnableWriteXorExecute=0 dotnet "$MIRAGE" blkback --backend xenctrl --create-device --frontend-domain "$DOMID" \
        --device 51712 --file "$WORK/ours.img" --timeout 600 > "$WORK/blkback.log" 2>&1 &
    PIDS+=($!)
    wait_until 600 console_has hx1 'BLK xvda' || { echo "xvda never came from our blkback"; cat "$WORK/blkback.log" >&2; return 1; }
    [ "$(console_line hx1 'BLK xvda')" = "BLK xvda $(sha "$WORK/ours.img")" ] || { echo "xvda reads wrong: $(console_line hx1 'BLK xvda')"; return 1; }
    echo "xvdb through Linux's blkback and xvda through ours read as written"
}

check_xl_destroy_release() {
    local domid; domid=$(cat "$WORK/domid1") || return 1
    timeout 300 xenstore-watch -n 2 @releaseDomain > "$WORK/release-watch" 2>&1 &
    local watcher=$!
    wait_until 30 test -s "$WORK/release-watch"      # the watch fired once on registering: it is in place
    local t0=$EPOCHREALTIME
    xl destroy hx1 || { echo "xl destroy failed"; return 1; }
    wait "$watcher" || { echo "@releaseDomain never fired"; return 1; }
    local fired; fired=$(since "$t0")
    # Xen frees a domain only once every mapping of its pages is gone, the daemon's of its Xenstore page too
    wait_until 120 bash -c "! xl list $domid" || { echo "domain $domid is still there (a zombie?): $(xl list "$domid" | tail -1)"; return 1; }
    ! xenstore-read "/local/domain/$domid/name" 2>/dev/null || { echo "/local/domain/$domid is still there"; return 1; }
    local held; held=$(grep -o "Domain $domid released with .*" "$XSLOG" | head -1)
    [ -n "$held" ] || { echo "the daemon did not release domain $domid"; tail -20 "$XSLOG" >&2; return 1; }
    grep -qE "released with [1-9][0-9]* connection\(s\), [1-9][0-9]* watch\(es\)" <<< "$held" \
        || { echo "the release dropped nothing: $held"; return 1; }
    [ "$(xenstore-read /local/domain/0/name)" = Domain-0 ] || { echo "dom0 lost its store"; return 1; }
    local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    echo "@releaseDomain ${fired} ms after xl destroy; dropped ${held#Domain $domid released with }; its nodes gone, no zombie"
}

check_second_guest() {
    ip link del hx0 2>/dev/null
    start hx2 || { echo "xl create failed"; return 1; }
    echo "$DOMID" > "$WORK/domid2"
    wait_until 900 console_has hx2 '^GUEST-READY' || { echo "no GUEST-READY on hx2's console"; tail -20 "$CONSOLE/guest-hx2.log" >&2; return 1; }
    wait_until 120 console_has hx2 'XENBUS name=' || { echo "the guest's script said nothing"; return 1; }
    local line; line=$(console_line hx2 'XENBUS name=')
    [ "$line" = "XENBUS name=hx2 domid=$DOMID" ] || { echo "hx2 read '$line' through its xenbus"; return 1; }
    echo "domain $DOMID, its xenbus working $(awk -v a="$T_CREATE" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s after xl create"
}

check_hostile_guest() {
    local domid; domid=$(cat "$WORK/domid2") || return 1
    python3 "$HERE/hostile-guest.py" "$domid" 300 >&2 || { echo "the daemon did not flag the broken ring (XENSTORE_ERROR_RINGIDX)"; tail -20 "$XSLOG" >&2; return 1; }
    wait_until 30 grep -q "(domain $domid) closed" "$XSLOG" || { echo "the daemon still serves domain $domid's ring"; return 1; }
    kill -0 "$(cat /run/xenstore.pid)" || { echo "the daemon died"; return 1; }
    timeout 20 xenstore-write /local/domain/0/hx-after ok && [ "$(XENSTORED_PATH=/dev/xen/xenbus timeout 20 xenstore-read /local/domain/0/hx-after)" = ok ] \
        || { echo "dom0 lost its store after the hostile guest"; return 1; }
    xl destroy hx2
    wait_until 120 bash -c "! xl list $domid" || { echo "the hostile domain $domid stayed after xl destroy"; return 1; }
    grep -q "Domain $domid released" "$XSLOG" || { echo "the daemon did not release the hostile domain"; return 1; }
    echo "the daemon cut the guest off with XENSTORE_ERROR_RINGIDX; dom0's socket and ring kept working; xl destroy released it"
}

run dom0-ring check_dom0_ring
run xl-create check_xl_create
run guest-xenbus check_guest_xenbus
run guest-netfront check_guest_netfront
run guest-blkfront check_guest_blkfront
run xl-destroy-release check_xl_destroy_release
run second-guest check_second_guest
run hostile-guest check_hostile_guest
grep -h '^BENCH' "$WORK"/*.err
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
