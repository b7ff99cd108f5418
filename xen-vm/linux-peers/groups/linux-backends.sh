# linux-backends.sh: our frontends against Linux's own backends, all in dom0.
#
# `mirage netfront` and `mirage blkfront` run in dom0 as frontend domain 0, and Linux's xen-netback and
# xen-blkback serve them from the same dom0: Xen lets a domain grant pages and bind event channels to
# itself, so the rings cross the real grant table and event channels, and .NET need not run in a
# guest. Without udev or Xen's hotplug scripts in dom0, lb_* below play the toolstack: they write
# the keys `xl` and its hotplug scripts would, which is what Linux's backends read.

LB_TCP=$WORK/lb-tcp.py
cat > "$LB_TCP" <<'EOF'
# lb-tcp.py recv <port> <file> | send <host> <port> <file>: one TCP transfer; prints bytes and seconds
import socket, sys, time
if sys.argv[1] == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(1)
    c, _ = s.accept(); start = time.monotonic(); n = 0
    with open(sys.argv[3], "wb") as f:
        while True:
            b = c.recv(1 << 20)
            if not b: break
            f.write(b); n += len(b)
    print(n, "%.3f" % (time.monotonic() - start))
else:
    for _ in range(100):
        try:
            c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=60); break
        except OSError: time.sleep(0.2)
    c.settimeout(120)
    with open(sys.argv[4], "rb") as f: c.sendfile(f)
    c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
EOF

# lb_keys <dir> <key> <value>...: writes keys under <dir>
lb_keys() {
    local dir=$1 args=(); shift
    while [ $# -ge 2 ]; do args+=("$dir/$1" "$2"); shift 2; done
    xenstore-write "${args[@]}"
}

lb_state() { xenstore-read "$1/state" 2>/dev/null; }
lb_state_is() { [ "$(lb_state "$1")" = "$2" ]; }   # for wait_until, which runs its command again each time

# lb_remove_device <frontend dir> <backend dir>: what `xl` does when a device goes; removing the backend
# directory is what makes Linux's backend let the device go.
lb_remove_device() { xenstore-rm "$2" 2>/dev/null; xenstore-rm "$1" 2>/dev/null; }

# lb_diagnose <frontend dir> <backend dir> <log>: what to look at when a check fails (to stderr)
lb_diagnose() {
    { echo "--- xenstore $1"; xenstore-ls -f "$1"; echo "--- xenstore $2"; xenstore-ls -f "$2"
      echo "--- $3"; tail -30 "$3"; echo "--- dmesg"; dmesg | tail -25
      # a backend stuck between states is usually xenwatch, blocked in the driver's state change
      echo "--- xenwatch's kernel stack"; cat "/proc/$(pgrep -x xenwatch)/stack"; } >&2 2>/dev/null
}

# ---- netif -------------------------------------------------------------------------------------

# lb_vif_create <dev> <mac>: the device as `xl network-attach` and the vif hotplug script leave it
# for xen-netback: the frontend directory first (the backend checks it exists when it probes), then
# the backend's, its state last (Linux probes a backend directory only in Initialising). netback needs
# `script` and `handle` to probe, reads `mac` when it connects, and moves to Connected only once the
# hotplug script has written hotplug-status=connected; `online` keeps the device when the frontend closes.
lb_vif_create() {
    local dev=$1 mac=$2
    local fe=/local/domain/0/device/vif/$dev be=/local/domain/0/backend/vif/0/$dev
    lb_keys "$fe" backend "$be" backend-id 0 handle "$dev" mac "$mac" state 1
    lb_keys "$be" frontend "$fe" frontend-id 0 handle "$dev" mac "$mac" script /etc/xen/scripts/vif-route \
        type vif online 1 hotplug-status connected state 1
}

# lb_netfront <log> <args...>: starts `mirage netfront --backend xenctrl <args>` in the background
# (in the namespace of $LB_NETNS if set); its pid in $LB_PID
lb_netfront() {
    local log=$1; shift
    if [ -n "${LB_NETNS:-}" ]; then
        ip netns exec "$LB_NETNS" dotnet "$MIRAGE" netfront --backend xenctrl "$@" >"$log" 2>&1 &
    else
        dotnet "$MIRAGE" netfront --backend xenctrl "$@" >"$log" 2>&1 &
    fi
    LB_PID=$!
    LB_UNDO+=("lb_stop $LB_PID")
}

# lb_stop <pid>: SIGTERM, which closes the device the standard way; then waits for it
lb_stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# lb_gntalloc_limit <pages>: a frontend in dom0 grants through gntalloc, which allows 1024 pages in all
# by default; netfront takes 514 a queue, blkfront up to 257 per request in flight.
lb_gntalloc_limit() {
    local f=/sys/module/xen_gntalloc/parameters/limit
    [ -w $f ] && [ "$(cat $f)" -lt "$1" ] && { LB_UNDO+=("echo $(cat $f) > $f"); echo "$1" > $f; }
    return 0
}

# lb_tcp <from netns> <to netns> <to address> <file> <tag>: one TCP transfer of <file>; checks the
# SHA-256 that arrives and prints the rate in MiB/s
lb_tcp() {
    local from=$1 to=$2 addr=$3 file=$4 tag=$5 got=$WORK/lb-got-$5.bin port=$((5000 + RANDOM % 1000))
    ip netns exec "$to" python3 "$LB_TCP" recv "$port" "$got" > "$WORK/lb-tcp-$tag.out" &
    local rx=$!
    ip netns exec "$from" timeout 300 python3 "$LB_TCP" send "$addr" "$port" "$file" || { kill $rx; echo "the $tag transfer failed"; return 1; }
    wait $rx || { echo "the $tag receiver failed"; return 1; }
    [ "$(sha "$got")" = "$(sha "$file")" ] || { echo "the $tag transfer arrived changed ($(stat -c %s "$got") bytes)"; return 1; }
    rm -f "$got"
    awk '{ printf "%.1f", $1 / 1048576 / $2 }' "$WORK/lb-tcp-$tag.out"
}

# A check runs lb_<check> and then undoes what it set up (LB_UNDO, last first), whatever happened:
# the next check, or a rerun in the same dom0, starts clean.
LB_UNDO=()
lb_run() {
    LB_UNDO=()
    "$@"; local rc=$? i
    for ((i = ${#LB_UNDO[@]} - 1; i >= 0; i--)); do eval "${LB_UNDO[$i]}" >/dev/null 2>&1; done
    LB_UNDO=()
    return $rc
}

check_our_netfront_linux_netback() { lb_run lb_netfront_check; }
check_our_blkfront_linux_blkback() { lb_run lb_blkfront_check; }

lb_netfront_check() {
    local dev=7 mac=00:16:3e:4c:42:07 tap=lbtap0
    local fe=/local/domain/0/device/vif/$dev be=/local/domain/0/backend/vif/0/$dev vif=vif0.$dev
    local log1=$WORK/lb-netfront-ip.log log2=$WORK/lb-netfront-tap.log
    modprobe -a xen-netback tun || { echo "cannot load xen-netback"; return 1; }
    # Undone last: loaded, it would take every vif backend directory of dom0, our netback's too.
    LB_UNDO+=("rmmod xen-netback")
    # Linux's own netfront in dom0 would take the frontend directory from us.
    [ -d /sys/module/xen_netfront ] && { echo "xen-netfront is loaded in dom0: it would take our frontend's device"; return 1; }
    lb_gntalloc_limit 8192
    lb_remove_device "$fe" "$be"
    lb_vif_create "$dev" "$mac"
    LB_UNDO+=("lb_remove_device $fe $be")
    if ! wait_until 30 lb_state_is "$be" 2; then
        lb_diagnose "$fe" "$be" /dev/null; echo "xen-netback did not reach InitWait (state $(lb_state "$be"))"; return 1
    fi
    wait_until 10 ip link show "$vif" || { echo "xen-netback made no $vif"; return 1; }
    # Each end in its own namespace: dom0's stack cannot short-cut through its loopback.
    ip netns add lbnb && ip netns add lbnf || { echo "cannot make network namespaces"; return 1; }
    LB_UNDO+=("ip netns del lbnb" "ip netns del lbnf")
    ip link set "$vif" netns lbnb || { echo "cannot move $vif into a namespace"; return 1; }
    ip -n lbnb addr add 10.77.0.1/24 dev "$vif" && ip -n lbnb link set "$vif" up && ip -n lbnb link set lo up

    # 1: netfront's own ARP and ICMP responder answers ping through xen-netback.
    LB_NETNS= lb_netfront "$log1" --device "$dev" --ip 10.77.0.2/24
    local nf=$LB_PID
    if ! wait_until 400 lb_state_is "$be" 4; then
        lb_diagnose "$fe" "$be" "$log1"; echo "xen-netback did not connect (backend state $(lb_state "$be"), frontend $(lb_state "$fe"))"; return 1
    fi
    if ! ip netns exec lbnb ping -c 5 -i 0.3 -W 5 10.77.0.2 >&2; then
        lb_diagnose "$fe" "$be" "$log1"; echo "no answer from netfront's responder through $vif"; return 1
    fi
    lb_stop "$nf"
    wait_until 20 lb_state_is "$be" 6 || { lb_diagnose "$fe" "$be" "$log1"; echo "xen-netback did not close after netfront (state $(lb_state "$be"))"; return 1; }

    # 2: netfront again, now passing frames to a TAP in its own namespace: the kernel's stack on each
    # end, ping both ways and TCP through the driver pair.
    LB_NETNS=lbnf lb_netfront "$log2" --device "$dev" --tap "$tap"
    if ! wait_until 400 lb_state_is "$be" 4; then
        lb_diagnose "$fe" "$be" "$log2"; echo "xen-netback did not connect again (backend state $(lb_state "$be"), frontend $(lb_state "$fe"))"; return 1
    fi
    wait_until 20 ip -n lbnf link show "$tap" || { lb_diagnose "$fe" "$be" "$log2"; echo "netfront made no $tap"; return 1; }
    ip -n lbnf link set "$tap" address "$mac" && ip -n lbnf addr add 10.77.0.2/24 dev "$tap" && ip -n lbnf link set "$tap" up && ip -n lbnf link set lo up
    if ! ip netns exec lbnb ping -c 5 -i 0.3 -W 5 10.77.0.2 >&2 || ! ip netns exec lbnf ping -c 5 -i 0.3 -W 5 10.77.0.1 >&2; then
        lb_diagnose "$fe" "$be" "$log2"; echo "ping through netfront's $tap and $vif lost packets"; return 1
    fi
    local data=$WORK/lb-net.bin to_nf from_nf
    head -c 64M /dev/urandom > "$data"
    to_nf=$(lb_tcp lbnb lbnf 10.77.0.2 "$data" to-netfront) || { lb_diagnose "$fe" "$be" "$log2"; echo "$to_nf"; return 1; }
    from_nf=$(lb_tcp lbnf lbnb 10.77.0.1 "$data" from-netfront) || { lb_diagnose "$fe" "$be" "$log2"; echo "$from_nf"; return 1; }
    rm -f "$data"
    ip -n lbnb -s link show "$vif" >&2; cat "$log2" >&2
    echo "ping both ways; 64 MiB TCP each way, sha256 equal: xen-netback to netfront $to_nf MiB/s, netfront to xen-netback $from_nf MiB/s"
}

# ---- blkif -------------------------------------------------------------------------------------

# lb_vbd_create <devid> <loop device> <mode>: the device as `xl block-attach` and the block hotplug
# script leave it for xen-blkback: the frontend's virtual-device and device-type, the backend's
# params, type and mode, and physical-device (major:minor in hex), which blkback watches and opens.
lb_vbd_create() {
    local devid=$1 loop=$2 mode=$3
    local fe=/local/domain/0/device/vbd/$devid be=/local/domain/0/backend/vbd/0/$devid
    local majmin
    majmin=$(stat -L -c '%t:%T' "$loop")
    lb_keys "$fe" backend "$be" backend-id 0 virtual-device "$devid" device-type disk state 1
    lb_keys "$be" frontend "$fe" frontend-id 0 params "$loop" type phy mode "$mode" online 1 removable 0 \
        bootable 1 dev xvdb device-type disk physical-device "$majmin" state 1
}

# lb_blkfront <log> <args...>: one `mirage blkfront --backend xenctrl` run, bounded
lb_blkfront() { local log=$1; shift; timeout 300 dotnet "$MIRAGE" blkfront --backend xenctrl "$@" >"$log" 2>&1; }

# lb_rate <log> <what> <bytes per call>: "<MiB/s>" or "<MiB/s>/<calls per second>" from blkfront's
# "<what> <n> bytes in <s> s" line
lb_rate() {
    sed -n "s/^blkfront: $2 \([0-9]*\) bytes in \([0-9.]*\) s.*/\1 \2/p" "$1" |
        awk -v per="${3:-0}" '{ if (per) printf "%.0f", $1 / per / $2; else printf "%.1f", $1 / 1048576 / $2 }'
}

lb_blkfront_check() {
    local devid=51728
    local fe=/local/domain/0/device/vbd/$devid be=/local/domain/0/backend/vbd/0/$devid
    local img=$WORK/lb-disk.img in=$WORK/lb-in.bin out=$WORK/lb-out.bin log=$WORK/lb-blkfront.log loop
    modprobe -a xen-blkback loop || { echo "cannot load xen-blkback"; return 1; }
    LB_UNDO+=("rmmod xen-blkback")   # as xen-netback above
    [ -d /sys/module/xen_blkfront ] && { echo "xen-blkfront is loaded in dom0: it would take our frontend's device"; return 1; }
    lb_gntalloc_limit 8192
    truncate -s 64M "$img"
    loop=$(losetup -f --show "$img") || { echo "no loop device"; return 1; }
    LB_UNDO+=("losetup -d $loop" "rm -f $img $in $out")
    lb_remove_device "$fe" "$be"
    lb_vbd_create "$devid" "$loop" w
    LB_UNDO+=("lb_remove_device $fe $be")
    if ! wait_until 30 lb_state_is "$be" 2; then
        lb_diagnose "$fe" "$be" /dev/null; echo "xen-blkback did not reach InitWait (state $(lb_state "$be"))"; return 1
    fi
    head -c 48M /dev/urandom > "$in"
    if ! lb_blkfront "$log" --device "$devid" --copy-in "$in" --copy-out "$out"; then
        lb_diagnose "$fe" "$be" "$log"; echo "mirage blkfront failed"; return 1
    fi
    cat "$log" >&2
    local want got disk
    want=$(sha "$in")
    got=$(head -c 48M "$out" | sha256sum | cut -d' ' -f1)
    disk=$(head -c 48M "$img" | sha256sum | cut -d' ' -f1)
    [ "$want" = "$disk" ] || { echo "the image does not hold what blkfront wrote ($disk, not $want)"; return 1; }
    [ "$want" = "$got" ] || { echo "blkfront read back $got, not $want"; return 1; }
    [ "$(stat -c %s "$out")" = $((64 << 20)) ] || { echo "blkfront copied out $(stat -c %s "$out") bytes of a 64 MiB disk"; return 1; }
    wait_until 20 lb_state_is "$be" 6 || { lb_diagnose "$fe" "$be" "$log"; echo "xen-blkback did not close after blkfront (state $(lb_state "$be"))"; return 1; }
    rm -f "$out"

    # Figures (BENCHMARKS.md): the whole disk read in 1 MiB calls, 4 deep, and in 4 KiB calls, 32 deep;
    # the same commands measure our blkback. xen-blkback reconnects to a frontend that starts again.
    local seq iops
    lb_blkfront "$WORK/lb-seq.log" --device "$devid" --copy-out /dev/null --chunk 1048576 --depth 4 \
        || { lb_diagnose "$fe" "$be" "$WORK/lb-seq.log"; echo "blkfront's sequential read failed"; return 1; }
    lb_blkfront "$WORK/lb-4k.log" --device "$devid" --copy-out /dev/null --chunk 4096 --depth 32 \
        || { lb_diagnose "$fe" "$be" "$WORK/lb-4k.log"; echo "blkfront's 4 KiB reads failed"; return 1; }
    seq=$(lb_rate "$WORK/lb-seq.log" "copied out")
    iops=$(lb_rate "$WORK/lb-4k.log" "copied out" 4096)
    echo "48 MiB in and out, sha256 equal; writes $(lb_rate "$log" "copied in and flushed") MiB/s, reads $seq MiB/s (1 MiB x 4), $iops IOPS (4 KiB x 32)"
}
