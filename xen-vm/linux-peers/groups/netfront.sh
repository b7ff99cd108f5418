# netfront.sh: Linux's xen-netfront, in a PV guest, against `mirage netback --backend xenctrl` in dom0.
#
# One guest serves every check here. dom0 runs two netbacks, each on its own TAP and subnet, and each
# creates its vif in Xenstore as a toolstack would (the guest's xl config has no vif):
#   vif 0: one queue (Linux's default on one vCPU), mtu offered 9000   dom0 nf0 10.14.0.1, guest 10.14.0.2
#   vif 1: two queues (only when netfront-2queues runs)                dom0 nf1 10.14.1.1, guest 10.14.1.2
#   vif 2: Linux's own xen-netback, for the figures to compare with    dom0 vifN.2 10.14.2.1, guest 10.14.2.2
# Linux's netback goes first and is unloaded before ours start: once loaded, it probes every vif
# backend directory of dom0, ours too, and closes those it cannot serve (no hotplug `script`).
# The guest raises xen-netfront's max_queues to 2 before the vifs appear; how many queues each vif gets
# is then the backend's offer. Its script brings each interface up (found by its MAC) and serves
# commands on TCP port 7000 with busybox nc: dom0 drives each step through the network itself (nf_sh).
# The framebuffer checks (framebuffer.sh) share this guest: it carries their fbres.

NF_GUEST=netfront
NF_PORT=7000
NF_MAC0=00:16:3e:14:00:02
NF_MAC1=00:16:3e:14:01:02
NF_MAC2=00:16:3e:14:02:02
NF_SIZE=$((64 * 1024 * 1024))
# Each check runs in a subshell of run-all.sh: what the first one sets up is kept in files.
NF_STATE=$WORK/nf-state      # "up", or why the setup failed; missing before the first check
NF_PIDS=$WORK/nf-pids        # the netbacks, to stop when all checks are done

nf_cleanup() {
    local pid
    for pid in $(cat "$NF_PIDS" 2>/dev/null); do kill "$pid"; done
    for pid in $(cat "$NF_PIDS" 2>/dev/null); do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    done
    xl destroy "$NF_GUEST"
}
on_exit nf_cleanup

nf_guest_script() {
    cat <<EOF
#!/bin/sh
# xen-netfront reads max_queues when it connects, and each vif comes later, from dom0's netback.
echo 2 > /sys/module/xen_netfront/parameters/max_queues || echo "cannot raise max_queues"
cat > /tmp/serve <<'SERVE'
#!/bin/sh
# One command a connection: a line in, its output and "rc=<status>" out.
read -r cmd
sh -c "\$cmd" </dev/null 2>&1
echo "rc=\$?"
SERVE
chmod +x /tmp/serve
ifname() { for d in /sys/class/net/*; do [ "\$(cat \$d/address)" = "\$1" ] && { echo "\${d##*/}"; return 0; }; done; return 1; }
up() {
    i=0
    until dev=\$(ifname \$1); do
        i=\$((i + 1)); [ \$i -lt 900 ] || { echo "no interface with mac \$1"; return 1; }
        sleep 0.2
    done
    ip link set \$dev mtu 1500 && ip addr add \$2 dev \$dev && ip link set \$dev up || return 1
    echo \$dev > /tmp/if-\$1
    echo "\$dev (\$1) is \$2"
}
nc -ll -p $NF_PORT -e /tmp/serve &
up $NF_MAC2 10.14.2.2/24 &
up $NF_MAC0 10.14.0.2/24 &
up $NF_MAC1 10.14.1.2/24 &
# dom0 says when it is done (nf_sh ... "touch /tmp/done"); it destroys the guest in any case.
i=0
until [ -e /tmp/done ]; do i=\$((i + 1)); [ \$i -lt 3000 ] || break; sleep 0.5; done
grep -- '-q[0-9]-' /proc/interrupts
EOF
}

# nf_sh <guest ip> <command>: runs <command> in the guest; prints its output, returns its status.
nf_sh() {
    python3 - "$1" "$NF_PORT" "$2" <<'EOF'
import re, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.settimeout(900)
s.sendall(sys.argv[3].encode() + b"\n")
s.shutdown(socket.SHUT_WR)
out = bytearray()
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
text = out.decode(errors="replace")
m = re.search(r"rc=(\d+)\s*$", text)
sys.stdout.write(text[:m.start()] if m else text)
sys.exit(int(m.group(1)) if m else 255)
EOF
}

# nf_send <ip> <port> <file>: connects (retrying while nobody listens), sends the file, half-closes and
# waits for the peer to close; prints the seconds taken.
nf_send() {
    python3 - "$@" <<'EOF'
import socket, sys, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.time() + 60
while True:
    try:
        s = socket.create_connection((host, port), timeout=10)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
s.settimeout(600)
start = time.time()
with open(path, "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        s.sendall(b)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print("%.3f" % (time.time() - start))
EOF
}

# nf_recv <port> <bytes> <ready file>: listens, touches <ready file>, takes one connection and reads
# <bytes> from it; prints "<sha256> <seconds>".
nf_recv() {
    python3 - "$@" <<'EOF'
import hashlib, socket, sys, time
port, size, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", port))
l.listen(1)
l.settimeout(120)
open(ready, "w").close()
c, _ = l.accept()
c.settimeout(600)
h = hashlib.sha256()
got = 0
start = time.time()
while got < size:
    d = c.recv(min(1 << 20, size - got))
    if not d:
        break
    h.update(d)
    got += len(d)
took = time.time() - start
c.close()
if got != size:
    sys.exit("got %d of %d bytes" % (got, size))
print(h.hexdigest(), "%.3f" % took)
EOF
}

# nf_netback <device> <tap> <mac> <queues> <dom0 address>: one netback for the guest, its TAP up.
nf_netback() {
    local dev=$1 tap=$2 mac=$3 queues=$4 addr=$5
    # .NET's W^X double mapping of JIT'd code (memfd:doublemapper) traps under QEMU's TCG in dom0
    # ("invalid opcode", or a segfault): map JIT'd code once.
    DOTNET_EnableWriteXorExecute=0 mirage netback --backend xenctrl --frontend-domain "$NF_DOMID" --device "$dev" --tap "$tap" \
        --mac "$mac" --queues "$queues" --mtu 9000 > "$WORK/nf-vif$dev.log" 2>&1 &
    echo $! >> "$NF_PIDS"
    wait_until 300 ip link show "$tap" || { echo "netback vif $dev made no TAP $tap"; return 1; }
    ip addr add "$addr" dev "$tap" && ip link set "$tap" up
}

# nf_linux_vif: vif 2, served by Linux's xen-netback in dom0. The keys are those `xl network-attach`
# and the vif hotplug script would write (see linux-backends.sh), for the guest's domain; each
# directory is its owner's, readable by the other end, as libxl leaves them.
nf_linux_vif() {
    local fe=/local/domain/$NF_DOMID/device/vif/2 be=/local/domain/0/backend/vif/$NF_DOMID/2
    local vif=vif$NF_DOMID.2
    modprobe xen-netback || { echo "cannot load xen-netback"; return 1; }
    xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/handle" 2 "$fe/mac" $NF_MAC2 "$fe/state" 1 &&
        xenstore-chmod -r "$fe" "n$NF_DOMID" r0 &&
        xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$NF_DOMID" "$be/handle" 2 "$be/mac" $NF_MAC2 \
            "$be/script" /etc/xen/scripts/vif-route "$be/type" vif "$be/online" 1 "$be/hotplug-status" connected "$be/state" 1 &&
        xenstore-chmod -r "$be" n0 "r$NF_DOMID" || { echo "cannot write vif 2's keys"; return 1; }
    wait_until 120 ip link show "$vif" || { echo "xen-netback made no $vif"; return 1; }
    ip addr add 10.14.2.1/24 dev "$vif" && ip link set "$vif" up || return 1
    wait_until 300 nf_sh 10.14.2.2 true || { echo "the guest never answered over vif 2 (backend state $(xenstore-read "$be/state"))"; return 1; }
}

# nf_linux_vif_remove: takes vif 2 away as `xl network-detach` does (offline, Closing: the frontend
# closes and netback lets the device go), then unloads xen-netback so that it leaves our vifs alone.
nf_linux_vif_remove() {
    local fe=/local/domain/$NF_DOMID/device/vif/2 be=/local/domain/0/backend/vif/$NF_DOMID/2
    xenstore-write "$be/online" 0 "$be/state" 5
    wait_until 60 bash -c "! ip link show vif$NF_DOMID.2" || echo "xen-netback kept vif$NF_DOMID.2" >&2
    xenstore-rm "$be"; xenstore-rm "$fe"
    rmmod xen-netback || { echo "cannot unload xen-netback: it would take our vifs"; return 1; }
}

# nf_linux_figures: the TCP transfer of netfront-tcp through Linux's xen-netback; prints the rates
nf_linux_figures() {
    nf_linux_vif || return 1
    local rc=0
    nf_transfer 10.14.2.2 10.14.2.1 $NF_SIZE "vif 2 (Linux's netback)" && echo "$NF_RATES" || rc=1
    nf_linux_vif_remove || rc=1
    return $rc
}

nf_logs() {
    local f
    for f in "$WORK"/nf-vif*.log; do echo "== ${f##*/}"; tail -8 "$f"; done >&2
    echo "== xenstore: the guest's vifs, and the backends' states" >&2
    xenstore-ls -f "/local/domain/$NF_DOMID/device/vif" >&2 2>/dev/null
    xenstore-ls -f "/local/domain/0/backend/vif/$NF_DOMID" 2>/dev/null | grep '/state = ' >&2
    echo "== dom0's kernel" >&2
    dmesg | grep -iE 'segfault|traps|xen|vif|nf[01]' | grep -v 'registering gsi' | tail -6 >&2
    echo "== guest console" >&2
    tail -12 "/var/log/xen/console/guest-$NF_GUEST.log" >&2 2>/dev/null
}

# nf_up: boots the guest and starts both netbacks once; later calls report how that went. Sets
# NF_DOMID, and NF_IF0 and NF_IF1, the guest's names of vif 0 and 1.
nf_up() {
    if [ -e "$NF_STATE" ]; then
        [ "$(cat "$NF_STATE")" = up ] || { cat "$NF_STATE"; return 1; }
        read -r NF_DOMID NF_IF0 NF_IF1 < "$WORK/nf-guest"
        return 0
    fi
    nf_setup > "$NF_STATE" && echo up > "$NF_STATE"
    nf_up
}

nf_setup() {
    modprobe tun
    nf_guest_script > "$WORK/nf-guest.sh"
    local start=$EPOCHREALTIME
    NF_DOMID=$(GUEST_FILES="$BIN/fbres" GUEST_MEMORY=384 guest.sh start "$NF_GUEST" "$WORK/nf-guest.sh") || { echo "the guest did not start"; return 1; }
    # The framebuffer checks' fbback starts now, while the guest boots (framebuffer.sh)
    case " ${CHECKS[*]} " in
        *" fb-connect "*|*" fb-screenshot "*|*" kbd-typed-command "*|*" fb-resize "*) fb_start ;;
    esac
    # Linux's netback is only the yardstick, for netfront-tcp: without it, the checks still run and say so.
    case " ${CHECKS[*]} " in
        *" netfront-tcp "*) nf_linux_figures > "$WORK/nf-linux" 2>&1 ;;
    esac
    nf_netback 0 nf0 $NF_MAC0 1 10.14.0.1/24 || { nf_logs; return 1; }
    # vif 1 serves netfront-2queues alone: without it, one .NET start less under emulation
    local two=0
    case " ${CHECKS[*]} " in *" netfront-2queues "*) two=1 ;; esac
    if [ $two = 1 ]; then nf_netback 1 nf1 $NF_MAC1 2 10.14.1.1/24 || { nf_logs; return 1; }; fi
    if ! wait_until 600 nf_sh 10.14.0.2 true || { [ $two = 1 ] && ! wait_until 120 nf_sh 10.14.1.2 true; }; then
        echo "the guest never answered over its vifs"; nf_logs; return 1
    fi
    NF_IF0=$(nf_sh 10.14.0.2 "cat /tmp/if-$NF_MAC0")
    NF_IF1=none; [ $two = 0 ] || NF_IF1=$(nf_sh 10.14.0.2 "cat /tmp/if-$NF_MAC1")
    echo "$NF_DOMID $NF_IF0 $NF_IF1" > "$WORK/nf-guest"
    echo "netfront: guest $NF_DOMID up, $NF_IF0 and $NF_IF1 answering, $(since "$start") ms after xl create" >&2
}

# nf_loss <ping output>: the packet loss figure, e.g. "0%"
nf_loss() { sed -n 's/.* \([0-9.]*%\) packet loss.*/\1/p' <<< "$1"; }

# nf_transfer <guest ip> <dom0 ip> <bytes> <label>: <bytes> of random data each way over TCP (busybox nc
# in the guest, python3 here); checks their SHA-256 and prints the rates.
nf_transfer() {
    local gip=$1 hip=$2 size=$3 label=$4
    local file=$WORK/nf-data out took want got
    head -c "$size" /dev/urandom > "$file"
    want=$(sha "$file")
    # dom0 to the guest: the guest hashes what it receives
    nf_sh "$gip" "nc -l -p 7001 | sha256sum" > "$WORK/nf-in.out" &
    local guest=$!
    took=$(nf_send "$gip" 7001 "$file") || { echo "$label: sending to the guest failed"; return 1; }
    wait $guest || { echo "$label: the guest's receiver failed: $(cat "$WORK/nf-in.out")"; return 1; }
    got=$(cut -d' ' -f1 < "$WORK/nf-in.out")
    [ "$got" = "$want" ] || { echo "$label: dom0 to guest: SHA-256 $got, sent $want"; return 1; }
    local down; down=$(awk -v b="$size" -v t="$took" 'BEGIN { printf "%.1f", b / 1048576 / t }')
    # the guest to dom0: the guest makes the data and says its hash
    want=$(nf_sh "$gip" "head -c $size /dev/urandom > /tmp/data && sha256sum /tmp/data" | cut -d' ' -f1)
    [ ${#want} = 64 ] || { echo "$label: the guest could not make its data"; return 1; }
    rm -f "$WORK/nf-ready"
    nf_recv 7002 "$size" "$WORK/nf-ready" > "$WORK/nf-out.out" &
    local recv=$!
    wait_until 30 test -e "$WORK/nf-ready"
    nf_sh "$gip" "nc $hip 7002 < /tmp/data; rm /tmp/data" >/dev/null || { echo "$label: the guest's sender failed"; return 1; }
    wait $recv || { echo "$label: receiving from the guest failed: $(cat "$WORK/nf-out.out")"; return 1; }
    read -r got took < "$WORK/nf-out.out"
    [ "$got" = "$want" ] || { echo "$label: guest to dom0: SHA-256 $got, sent $want"; return 1; }
    local up; up=$(awk -v b="$size" -v t="$took" 'BEGIN { printf "%.1f", b / 1048576 / t }')
    echo "$label: $((size / 1048576)) MiB each way, equal SHA-256; dom0->guest $down MiB/s, guest->dom0 $up MiB/s" >&2
    NF_RATES="dom0->guest $down MiB/s, guest->dom0 $up MiB/s"
}

check_netfront_ping() {
    nf_up || return 1
    local out loss
    out=$(ping -c 20 -i 0.2 -W 5 10.14.0.2 2>&1)
    loss=$(nf_loss "$out")
    [ "$loss" = "0%" ] || { echo "dom0 -> guest ping: ${loss:-no answer} loss"; echo "$out" >&2; return 1; }
    out=$(nf_sh 10.14.0.2 "ping -c 10 -W 5 10.14.0.1")
    loss=$(nf_loss "$out")
    [ "$loss" = "0%" ] || { echo "guest -> dom0 ping: ${loss:-no answer} loss"; echo "$out" >&2; return 1; }
    echo "20 + 10 echoes, no loss"
}

check_netfront_tcp() {
    nf_up || return 1
    nf_transfer 10.14.0.2 10.14.0.1 $NF_SIZE "vif 0" || { nf_logs; return 1; }
    # The same transfer through Linux's xen-netback, in the same guest and sitting (nf_setup).
    echo "ours: $NF_RATES; Linux's xen-netback: $(tail -1 "$WORK/nf-linux")"
}

check_netfront_mtu9000() {
    nf_up || return 1
    ip link set nf0 mtu 9000 || { echo "cannot set nf0's MTU to 9000"; return 1; }
    local mtu
    mtu=$(nf_sh 10.14.0.2 "ip link set $NF_IF0 mtu 9000 && cat /sys/class/net/$NF_IF0/mtu")
    local rc=1
    if [ "$mtu" != 9000 ]; then
        echo "the guest's $NF_IF0 refused MTU 9000: $mtu"
    else
        # 9000-byte IP packets that may not fragment: each frame is 9014 bytes over three rx or tx slots.
        local out loss
        out=$(ping -M do -s 8972 -c 20 -i 0.2 -W 5 10.14.0.2 2>&1)
        loss=$(nf_loss "$out")
        if [ "$loss" != "0%" ]; then
            echo "9000-byte pings from dom0: ${loss:-no answer} loss"; echo "$out" >&2
        else
            out=$(nf_sh 10.14.0.2 "ping -c 10 -s 8972 -W 5 10.14.0.1")
            loss=$(nf_loss "$out")
            if [ "$loss" != "0%" ]; then
                echo "9000-byte pings from the guest: ${loss:-no answer} loss"; echo "$out" >&2
            elif nf_transfer 10.14.0.2 10.14.0.1 $((16 * 1024 * 1024)) "vif 0 at MTU 9000"; then
                rc=0
                echo "9000-byte pings both ways, no loss; 16 MiB each way: $NF_RATES"
            else
                nf_logs
            fi
        fi
    fi
    nf_sh 10.14.0.2 "ip link set $NF_IF0 mtu 1500" >/dev/null
    ip link set nf0 mtu 1500
    return $rc
}

check_netfront_2queues() {
    nf_up || return 1
    local fe=/local/domain/$NF_DOMID/device/vif/1 q key n
    n=$(xenstore-read "$fe/multi-queue-num-queues" 2>/dev/null)
    [ "$n" = 2 ] || { echo "the frontend wrote multi-queue-num-queues '$n', not 2"; return 1; }
    for q in 0 1; do
        for key in tx-ring-ref rx-ring-ref event-channel-tx event-channel-rx; do
            xenstore-read "$fe/queue-$q/$key" >/dev/null 2>&1 || { echo "the frontend did not write queue-$q/$key"; return 1; }
        done
    done
    local out loss
    out=$(ping -c 10 -i 0.2 -W 5 10.14.1.2 2>&1)
    loss=$(nf_loss "$out")
    [ "$loss" = "0%" ] || { echo "ping over the two-queue vif: ${loss:-no answer} loss"; echo "$out" >&2; return 1; }
    # The guest picks a tx queue by flow hash: eight flows leave both queues idle with odds 1/128.
    local before after
    # xen-netfront names a queue's interrupts after the device's Xenstore id, not the interface:
    # vif1-q0-tx, vif1-q0-rx, ... (xennet_init_queue, setup_netfront_split).
    local irq=vif1-q
    before=$(nf_sh 10.14.1.2 "grep '$irq' /proc/interrupts")
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        nf_recv $((7100 + i)) 1048576 "$WORK/nf-ready-$i" > "$WORK/nf-q$i.out" &
        pids+=($!)
    done
    for i in 1 2 3 4 5 6 7 8; do wait_until 30 test -e "$WORK/nf-ready-$i"; done
    nf_sh 10.14.1.2 "for i in 1 2 3 4 5 6 7 8; do head -c 1048576 /dev/urandom | nc 10.14.1.1 \$((7100 + i)) & done; wait" >/dev/null
    for i in "${pids[@]}"; do wait "$i" || { echo "a flow over the two-queue vif failed"; return 1; }; done
    after=$(nf_sh 10.14.1.2 "grep '$irq' /proc/interrupts")
    echo "interrupts before: $before" >&2
    echo "interrupts after: $after" >&2
    # Each queue's tx interrupt (its tx responses) must have fired during the flows.
    for q in 0 1; do
        local b a
        b=$(awk -v n="$irq$q-tx" '$NF == n { s = 0; for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' <<< "$before")
        a=$(awk -v n="$irq$q-tx" '$NF == n { s = 0; for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' <<< "$after")
        [ -n "$a" ] || { echo "the guest has no interrupt $irq$q-tx"; return 1; }
        [ "$a" -gt "${b:-0}" ] || { echo "queue $q carried nothing: $irq$q-tx stayed at $a"; return 1; }
    done
    nf_transfer 10.14.1.2 10.14.1.1 $((16 * 1024 * 1024)) "vif 1 (2 queues)" || { nf_logs; return 1; }
    echo "queue-0 and queue-1 in Xenstore, both queues carried flows; 16 MiB each way: $NF_RATES"
}
