# vchan.sh: vchan between a Linux guest and dom0, Xen's libxenvchan (vchan-guest.c) in the guest and
# `mirage vchan-cat --backend xenctrl` in dom0, in both roles. Sourced by run-all.sh.

VCHAN_BYTES=$((64 << 20))   # each way, in each role

# vchan_cat <guard> <input> <output> <vchan-cat arguments...>: vchan-cat with <input> on its standard
# input, which stays open after the file until vchan-cat ends: a vchan has no half-close, and vchan-cat
# closes the vchan when its input ends, so here the guest's end, which knows both counts, closes it.
# vchan-cat is stopped 20 s after the process <guard> (the guest's waiter) ends, so it never hangs.
vchan_cat() {
    local guard=$1 input=$2 output=$3 fifo fd; shift 3
    fifo=$(mktemp -u "$WORK/vchan-in.XXXXXX"); mkfifo "$fifo"
    timeout -k 5 600 dotnet "$MIRAGE" vchan-cat --backend xenctrl "$@" < "$fifo" > "$output" & local cat=$!
    exec {fd}> "$fifo"
    cat "$input" >&$fd & local feeder=$!
    local grace=100
    while kill -0 $cat 2>/dev/null && [ $grace -gt 0 ]; do
        kill -0 "$guard" 2>/dev/null || grace=$((grace - 1))
        sleep 0.2
    done
    kill $cat 2>/dev/null
    wait $cat; local rc=$?
    exec {fd}>&-
    kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
    rm -f "$fifo"
    return $rc
}

# vchan_verify <role> <guest's lines for it> <what dom0 sent> <what dom0 received>: empty, or why not
vchan_verify() {
    local role=$1 lines=$2 sent=$3 received=$4 key hash bytes
    for key in sent received; do
        read -r hash bytes <<< "$(awk -v k=$key '$1 == k { print $2, $3 }' <<< "$lines")"
        local file=$received; [ $key = received ] && file=$sent
        if [ -z "$hash" ]; then echo "the guest ($role) printed no '$key' line"; return
        elif [ "$bytes" != $VCHAN_BYTES ]; then echo "the guest ($role) $key $bytes bytes, not $VCHAN_BYTES"; return
        elif [ "$(stat -c %s "$file")" != $VCHAN_BYTES ]; then
            echo "dom0 got $(stat -c %s "$file") bytes from the guest ($role), not $VCHAN_BYTES"; return
        elif [ "$hash" != "$(sha "$file")" ]; then
            echo "the guest ($role) $key bytes with sha256 $hash, dom0's side has $(sha "$file")"; return
        fi
    done
}

# ours in dom0 serves, the guest's libxenvchan connects; then the guest's libxenvchan serves, ours connects
check_vchan_cross_domain() {
    local d=$WORK/vchan-cross-domain
    mkdir -p "$d"
    head -c $VCHAN_BYTES /dev/urandom > "$d/to-guest"
    cat > "$d/script" <<EOF
echo "role client"
vchan-guest client 0 xd $VCHAN_BYTES $VCHAN_BYTES || { dmesg | tail -15; exit 1; }
echo "role server"
vchan-guest server 0 xg $VCHAN_BYTES $VCHAN_BYTES || { dmesg | tail -15; exit 2; }
EOF
    local guest
    guest=$(GUEST_FILES="$BIN/vchan-guest" guest.sh start vchan "$d/script") || { echo "the guest did not start"; return 1; }
    on_exit xl destroy vchan
    # waits from now, so its "ready Ns after xl create" is the boot time
    guest.sh wait vchan 900 > "$d/guest.out" 2> "$d/guest.err" & local waiter=$!

    local why= t0=$EPOCHREALTIME
    vchan_cat $waiter "$d/to-guest" "$d/from-guest-client" --listen "$guest" xd 2> "$d/ours-server.err" \
        || why="vchan-cat --listen $guest xd exited with $?"
    local t1=$EPOCHREALTIME
    if [ -z "$why" ]; then
        vchan_cat $waiter "$d/to-guest" "$d/from-guest-server" --timeout 300 "$guest" xg 2> "$d/ours-client.err" \
            || why="vchan-cat $guest xg exited with $?"
    fi
    local t2=$EPOCHREALTIME
    wait $waiter; local rc=$?
    cat "$d/guest.err" "$d/ours-server.err" "$d/ours-client.err" "$d/guest.out" >&2 2>/dev/null
    if [ -n "$why" ] || [ $rc != 0 ]; then
        { echo "dom0's kernel:"; dmesg | tail -15; echo "Xen:"; xl dmesg | tail -15; } >&2
    fi
    [ -n "$why" ] && { echo "$why"; return 1; }
    [ $rc = 0 ] || { echo "the guest's script exited with $rc: $(tail -1 "$d/guest.out")"; return 1; }

    local client server
    client=$(sed -n '/^role client/,/^role server/p' "$d/guest.out")
    server=$(sed -n '/^role server/,$p' "$d/guest.out")
    why=$(vchan_verify client "$client" "$d/to-guest" "$d/from-guest-client")
    [ -z "$why" ] && why=$(vchan_verify server "$server" "$d/to-guest" "$d/from-guest-server")
    [ -n "$why" ] && { echo "$why"; return 1; }
    local left
    for left in "/local/domain/0/data/vchan/$guest/xd" "/local/domain/$guest/data/vchan/0/xg"; do
        xenstore-exists "$left" 2>/dev/null && { echo "the rendezvous $left is still in Xenstore"; return 1; }
    done

    local boot s1 s2
    boot=$(sed -n 's/.*ready \([0-9.]*\)s after xl create.*/\1/p' "$d/guest.err")
    s1=$(awk '$1 == "seconds" { print $2 }' <<< "$client"); s2=$(awk '$1 == "seconds" { print $2 }' <<< "$server")
    awk -v b="$boot" -v s1="$s1" -v s2="$s2" -v w1="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        -v w2="$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" -v m=$((VCHAN_BYTES >> 20)) 'BEGIN {
        printf "; guest ready %ss after xl create; %d MiB each way: ours serving %.1f s (%.1f MiB/s each way), ", b, m, s1, m / s1
        printf "ours connecting %.1f s (%.1f MiB/s each way); vchan-cat ran %.1f s and %.1f s", s2, m / s2, w1, w2 }'
}
