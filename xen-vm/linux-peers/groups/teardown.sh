# teardown.sh: death and teardown with real domains (issue 14, item 7). Nothing may hang on any end.
#   guest-destroyed   xl destroy of a guest in the middle of a transfer through our blkback and netback
#   backend-killed    kill -9 of our blkback and of our netback while Linux's blkfront and netfront
#                     use them, then new ones, which resume the rings the dead ones left
#   frontend-killed   kill -9 of our blkfront in dom0 against Linux's xen-blkback
# Sourced by run-all.sh in dom0 (lib.sh: $WORK, mirage, wait_until, since, on_exit, sha).

TD_IMAGE_MB=64

# td_image <path>: a raw image of random bytes
td_image() { head -c $((TD_IMAGE_MB << 20)) /dev/urandom > "$1"; }

# td_toolstack_vbd <domid> <vdev>: what xl block-attach writes for a vbd served from dom0, with the
# frontend keys Linux's blkfront reads at probe. The backend's directory is made readable to the guest
# before the frontend's appears: the guest probes that at once (it inherits the guest's ownership of
# device/), and a probe that cannot read the backend fails for good.
td_toolstack_vbd() {
    local d=$1 v=$2 fe=/local/domain/$1/device/vbd/$2 be=/local/domain/0/backend/vbd/$1/$2
    xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$d" "$be/online" 1 "$be/state" 1 \
        "$be/device-type" disk "$be/mode" w && xenstore-chmod -r "$be" n0 "r$d" || return 1
    xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 "$fe/virtual-device" "$v" "$fe/device-type" disk &&
        xenstore-chmod -r "$fe" "n$d" r0
}

# td_wait_line <seconds> <file> <text>: polls every 20 ms; prints the milliseconds it took
td_wait_line() {
    local start=$EPOCHREALTIME limit=$1
    until grep -qF -- "$3" "$2" 2>/dev/null; do
        [ "$(since "$start")" -lt $((limit * 1000)) ] || return 1
        sleep 0.02
    done
    since "$start"
}

# td_stamp: copies its input, each line led by the time it arrived ($EPOCHREALTIME: no fork per line)
td_stamp() { local l; while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done; }

# td_after <epoch> <stamped file> <text>: the milliseconds from <epoch> to the first line with <text>
td_after() { awk -v t="$1" -v s="$3" 'index($0, s) { printf "%d", ($1 - t) * 1000; exit }' "$2"; }

# td_guest_reader <script>: a guest script that reads xvda over and over (a transfer running),
# printing READING once it has read it whole, and COUNT <n> after each pass.
td_guest_reader() {
    cat > "$1" <<'EOF'
for _ in $(seq 1 300); do [ -b /dev/xvda ] && break; sleep 0.1; done
[ -b /dev/xvda ] || { echo "no xvda"; exit 1; }
n=0
while dd if=/dev/xvda of=/dev/null bs=1M 2>/dev/null; do
    n=$((n + 1)); [ $n = 1 ] && echo READING; echo "COUNT $n"
done
echo "xvda failed after $n passes"
sleep 600
EOF
}

check_guest_destroyed() {
    local img=$WORK/td-destroy.img script=$WORK/td-reader.sh d blog=$WORK/td-blkback1.log nlog=$WORK/td-netback1.log
    td_image "$img"; td_guest_reader "$script"
    modprobe tun 2>/dev/null
    d=$(guest.sh start td1 "$script") || { echo "guest td1 did not start"; return 1; }
    on_exit "xl destroy td1"
    td_toolstack_vbd "$d" 51712 || { echo "toolstack step failed"; return 1; }
    mirage blkback --backend xenctrl --file "$img" --frontend-domain "$d" --device 51712 --timeout 120 > >(td_stamp >"$blog") 2>&1 &
    local bpid=$!; on_exit "kill $bpid"
    mirage netback --backend xenctrl --frontend-domain "$d" --tap tdvif$d > >(td_stamp >"$nlog") 2>&1 &
    local npid=$!; on_exit "kill $npid"
    td_wait_line 120 /var/log/xen/console/guest-td1.log READING >/dev/null \
        || { echo "the guest never read xvda through our blkback"; cat "$blog" >&2; guest.sh wait td1 1 >&2; return 1; }
    wait_until 60 grep -q "frontend connected" "$nlog" \
        || { echo "Linux's netfront never connected to our netback"; cat "$nlog" >&2; return 1; }
    # The clock starts when the domain dies (@releaseDomain fires), the first moment a backend can tell:
    # before that, xl spends a second or two starting under emulation, and pauses the domain, which looks
    # like a quiet frontend. The watch fires once when it is set: the second line is the death.
    local rel=$WORK/td-release.log
    xenstore-watch @releaseDomain > >(td_stamp >"$rel") 2>/dev/null &
    local wpid=$!; on_exit "kill $wpid"
    wait_until 10 grep -q . "$rel" || { echo "cannot watch @releaseDomain"; return 1; }
    sleep 1   # the transfer runs
    local start=$EPOCHREALTIME died bms nms
    xl destroy td1 & local xpid=$!
    # Noticed: the line each backend prints when the connection ends, before it unmaps the guest's pages
    # (thousands of persistent grants, one unmap each, take seconds under emulation); released: below.
    td_wait_line 10 "$blog" "the connection ended" >/dev/null || { echo "blkback did not notice the destroy in 10 s"; cat "$blog" >&2; return 1; }
    td_wait_line 10 "$nlog" "the connection ended" >/dev/null || { echo "netback did not notice the destroy in 10 s"; cat "$nlog" >&2; return 1; }
    wait "$xpid"
    died=$(awk 'NR == 2 { print $1; exit }' "$rel")
    [ -n "$died" ] || { echo "@releaseDomain did not fire for the destroyed guest"; return 1; }
    bms=$(td_after "$died" "$blog" "the connection ended"); nms=$(td_after "$died" "$nlog" "the connection ended")
    # Every mapping released: Xen keeps a destroyed domain as a zombie while a page of it is mapped.
    wait_until 10 bash -c "! xl list $d" || { echo "domain $d stays a zombie: its pages are still mapped"; xl list >&2; return 1; }
    { [ "$bms" -le 1000 ] && [ "$nms" -le 1000 ]; } || { echo "noticed too late: blkback ${bms} ms, netback ${nms} ms after the domain died"; return 1; }
    wait "$bpid"; local brc=$?
    [ $brc = 0 ] || { echo "blkback exited $brc"; cat "$blog" >&2; return 1; }

    # A second guest, served by fresh backends, reads the whole disk and checks it.
    local d2 script2=$WORK/td-second.sh
    cat > "$script2" <<EOF
for _ in \$(seq 1 300); do [ -b /dev/xvda ] && break; sleep 0.1; done
dd if=/dev/xvda bs=1M 2>/dev/null | sha256sum | cut -d' ' -f1
EOF
    d2=$(guest.sh start td2 "$script2") || { echo "guest td2 did not start"; return 1; }
    on_exit "xl destroy td2"
    td_toolstack_vbd "$d2" 51712 || { echo "toolstack step failed"; return 1; }
    mirage blkback --backend xenctrl --file "$img" --frontend-domain "$d2" --device 51712 --timeout 120 >"$WORK/td-blkback2.log" 2>&1 &
    local out; out=$(guest.sh wait td2 180) || { echo "the second guest failed: $out"; return 1; }
    [ "$out" = "$(sha "$img")" ] || { echo "the second guest read $out, the image is $(sha "$img")"; return 1; }
    echo "noticed: blkback ${bms} ms, netback ${nms} ms after the domain died (xl destroy began $(awk -v a="$start" -v b="$died" 'BEGIN { printf "%d", (b - a) * 1000 }') ms before it)"
}

check_backend_killed() {
    local img=$WORK/td-kill.img script=$WORK/td-reader2.sh d log=$WORK/td-kill-blkback.log console=/var/log/xen/console/guest-td3.log
    td_image "$img"
    # The guest brings its vif up, for the netback half, and reads xvda whole over and over, printing
    # each pass's SHA-256: a request lost or answered wrongly across the kill changes one.
    cat > "$script" <<'EOF'
( for _ in $(seq 1 900); do ip link show eth0 >/dev/null 2>&1 && break; sleep 0.2; done
  ip addr add 10.15.0.2/24 dev eth0 && ip link set eth0 up ) &
for _ in $(seq 1 300); do [ -b /dev/xvda ] && break; sleep 0.1; done
[ -b /dev/xvda ] || { echo "no xvda"; exit 1; }
n=0
while :; do
    sum=$(dd if=/dev/xvda bs=1M 2>/dev/null | sha256sum | cut -d' ' -f1)
    n=$((n + 1)); [ $n = 1 ] && echo READING; echo "SUM $n $sum"
done
EOF
    d=$(guest.sh start td3 "$script") || { echo "guest td3 did not start"; return 1; }
    on_exit "xl destroy td3"
    td_toolstack_vbd "$d" 51712 || { echo "toolstack step failed"; return 1; }
    mirage blkback --backend xenctrl --file "$img" --frontend-domain "$d" --device 51712 --timeout 120 >"$log" 2>&1 &
    local bpid=$!
    td_wait_line 180 "$console" READING >/dev/null \
        || { echo "the guest never read xvda through our blkback"; cat "$log" >&2; return 1; }
    sleep 1   # in the middle of the next pass
    kill -9 "$bpid"; wait "$bpid" 2>/dev/null
    local passes; passes=$(tr -d '\r' < "$console" | grep -c '^SUM ')
    # Linux's blkfront never connects again after a close, and its requests in flight would never
    # complete: a new backend resumes the rings the dead one left, and the stalled pass goes on.
    mirage blkback --backend xenctrl --file "$img" --frontend-domain "$d" --device 51712 --timeout 120 >"$log.2" 2>&1 &
    local b2=$!; on_exit "kill $b2"
    wait_until 60 grep -q "resuming the rings a dead backend left" "$log.2" \
        || { echo "the new blkback did not resume the rings (frontend state $(xenstore-read /local/domain/$d/device/vbd/51712/state))"; cat "$log.2" >&2; return 1; }
    # The pass the kill interrupted, then a whole pass through the new backend.
    wait_until 240 bash -c "[ \$(tr -d '\r' < $console | grep -c '^SUM ') -ge $((passes + 2)) ]" \
        || { echo "the guest's reads did not go on after the new blkback resumed"; tail -5 "$console" >&2; cat "$log.2" >&2; return 1; }
    local want bad; want=$(sha "$img")
    bad=$(tr -d '\r' < "$console" | awk -v w="$want" '/^SUM / && $3 != w' | head -1)
    [ -z "$bad" ] || { echo "a pass read the wrong bytes: $bad (the image is $want)"; return 1; }
    local blk="blkfront went on through a new blkback: $((passes + 2)) whole passes, every one equal to the image"
    td_netback_killed "$d" || return 1
    echo "$blk; $TD_NET"
}

# td_netback_killed <domid>: our netback serves the guest's netfront; kill -9, and a new netback
# attaches to the rings the netfront still serves (Linux's netfront starts again only from Initialising,
# so it would never follow a close): ping answers before and after.
td_netback_killed() {
    local d=$1 log=$WORK/td-kill-netback.log tap=tdk0 npid
    modprobe tun 2>/dev/null
    td_netback() {
        mirage netback --backend xenctrl --frontend-domain "$d" --tap $tap >"$1" 2>&1 &
        npid=$!; on_exit "kill $npid"
        wait_until 120 grep -q "frontend connected" "$1" || {
            echo "Linux's netfront never connected to our netback"
            { cat "$1"; xenstore-ls -f "/local/domain/$d/device/vif"; xenstore-ls -f "/local/domain/0/backend/vif/$d"
              tr -d '\r' < /var/log/xen/console/guest-td3.log | grep -v '^SUM ' | tail -20; } >&2 2>/dev/null
            return 1; }
        ip addr add 10.15.0.1/24 dev $tap && ip link set $tap up || { echo "cannot bring $tap up"; return 1; }
    }
    td_netback "$log" || return 1
    wait_until 60 ping -c 1 -W 1 10.15.0.2 || { echo "no ping through our netback before the kill"; cat "$log" >&2; return 1; }
    kill -9 $npid; wait $npid 2>/dev/null
    local start=$EPOCHREALTIME
    td_netback "$log.2" || return 1
    wait_until 60 ping -c 1 -W 1 10.15.0.2 || { echo "no ping through the new netback"; cat "$log.2" >&2; return 1; }
    TD_NET="netfront answered ping through a new netback $(since "$start") ms after the kill"
}

check_frontend_killed() {
    local devid=51728 img=$WORK/td-linux-back.img loop log=$WORK/td-blkfront.log
    local fe=/local/domain/0/device/vbd/51728 be=/local/domain/0/backend/vbd/0/51728
    td_image "$img"
    # Our blkfront in dom0 (frontend 0) against Linux's xen-blkback in dom0 on a loop device, set up as
    # our-blkfront-linux-blkback sets it up (linux-backends.sh).
    modprobe -a xen-blkback loop || { echo "cannot load xen-blkback"; return 1; }
    # Loaded, xen-blkback takes every vbd backend directory of dom0: unload it once done.
    on_exit "rmmod xen-blkback"
    lb_gntalloc_limit 8192
    loop=$(losetup -f --show "$img") || { echo "no loop device"; return 1; }
    on_exit "losetup -d $loop"
    lb_remove_device "$fe" "$be"
    lb_vbd_create "$devid" "$loop" w
    on_exit "lb_remove_device $fe $be"
    wait_until 30 lb_state_is "$be" 2 \
        || { lb_diagnose "$fe" "$be" /dev/null; echo "xen-blkback did not reach InitWait (state $(lb_state "$be"))"; return 1; }
    (sleep 600 | mirage blkfront --backend xenctrl --device "$devid" --copy-in - >"$log" 2>&1) &
    wait_until 60 grep -q connected "$log" \
        || { lb_diagnose "$fe" "$be" "$log"; echo "our blkfront never connected to Linux's blkback (backend state $(lb_state "$be"))"; return 1; }
    local pid; pid=$(pgrep -f "mirage.dll blkfront .*--device 51728" | head -1)
    [ -n "$pid" ] || { echo "no blkfront process"; return 1; }
    kill -9 "$pid"
    # Linux's blkback frees the device once the frontend is gone (the toolstack removes the frontend's
    # directory, as xl does when a domain dies): it reads state Unknown and unregisters its xenbus
    # device, which disconnects it from the rings and closes the loop device. It leaves its own state
    # where it was (frontend_changed in drivers/block/xen-blkback/xenbus.c).
    local dev=/sys/bus/xen-backend/devices/vbd-0-51728
    [ -e "$dev" ] || { echo "Linux's blkback has no device $dev to free"; return 1; }
    xenstore-rm "$fe"
    local start=$EPOCHREALTIME
    wait_until 10 bash -c "[ ! -e $dev ]" \
        || { echo "Linux's blkback kept its device after our blkfront was killed (backend state $(xenstore-read $be/state))"; return 1; }
    echo "Linux's blkback freed the device $(since "$start") ms after the frontend's directory went"
}
