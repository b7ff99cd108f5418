# blkfront.sh: Linux's xen-blkfront in a guest against `mirage blkback --backend xenctrl` in dom0.
#
# dom0 plays the toolstack: blkback creates the vbd device in Xenstore itself (--create-device), so
# the guest boots with no disk and its xen-blkfront probes the device when it appears. The guest
# first reloads xen-blkfront with what Linux leaves off by default (a 4-page ring; 64 indirect
# segments, not 32), and has two vCPUs so that it asks for two queues. Each check is one guest.
# With persistent grants xen-blkfront allocates a page for every grant a full ring can hold, ahead:
# 128 requests of 65 grants on each of two queues is 65 MiB, hence the guest's 384 MiB. (A 16-page
# ring of 256-segment requests would want a GiB.)

BLK_DEVICE=51712                     # xvda
BLK_LOG=/var/log/xen/console

# blk_script <file>: a guest script: the reload, then the disk's arrival, then stdin's commands
blk_script() {
    {
        cat <<'EOF'
rmmod xen_blkfront || { echo "cannot unload xen-blkfront"; exit 10; }
insmod /lib/modules/xen-blkfront.ko max_ring_page_order=2 max_indirect_segments=64 max_queues=2 \
    || { echo "cannot load xen-blkfront"; exit 10; }
echo BLKFRONT-LOADED
EOF
        printf '%s\n' "${BLK_PRELUDE:-}"
        cat <<'EOF'
n=0
until [ -b /dev/xvda ] && [ "$(cat /sys/block/xvda/size 2>/dev/null)" -gt 0 ] 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 3000 ] || { echo "no /dev/xvda after 600 s"; exit 11; }
    sleep 0.2
done
q=/sys/block/xvda/queue
echo "size $(cat /sys/block/xvda/size) ro $(cat /sys/block/xvda/ro) logical $(cat $q/logical_block_size)"
echo "queues $(ls /sys/block/xvda/mq | wc -l) max_segments $(cat $q/max_segments) max_hw_kb $(cat $q/max_hw_sectors_kb)"
echo "cache $(cat $q/write_cache | tr ' ' _) discard_max $(cat $q/discard_max_bytes) discard_granularity $(cat $q/discard_granularity)"
EOF
        cat
    } > "$1"
}

# blk_start <name> <script> <image> <blkback args...>: boots the guest, and once it has reloaded
# xen-blkfront, serves <image> to it; sets BLK_DOMID and BLK_PID (blkback's), logs in $WORK/<name>.*
blk_start() {
    local name=$1 script=$2 image=$3; shift 3
    BLK_DOMID=$(GUEST_FILES="${BLK_FILES:-}" GUEST_MEMORY=384 guest.sh start "$name" "$script" "vcpus = 2") \
        || { echo "xl create failed"; return 1; }
    BLK_NAME=$name
    wait_until 900 grep -q '^BLKFRONT-LOADED' "$BLK_LOG/guest-$name.log" \
        || { echo "the guest never reloaded xen-blkfront"; tail -20 "$BLK_LOG/guest-$name.log" >&2; return 1; }
    [ -z "${BLK_BEFORE:-}" ] || $BLK_BEFORE "$name" >&2
    mirage blkback --backend xenctrl --create-device --frontend-domain "$BLK_DOMID" --device $BLK_DEVICE \
        --file "$image" --timeout 600 "$@" > "$WORK/$name.blkback" 2>&1 &
    BLK_PID=$!
}

# blk_run <body>: runs a check's body, then ends what it left behind: each check runs in a subshell
# (run-all.sh reads its output), so it cleans up itself rather than through on_exit
blk_run() {
    BLK_PID=; BLK_NAME=
    "$@"; local rc=$?
    [ -n "$BLK_PID" ] && kill "$BLK_PID" 2>/dev/null && wait "$BLK_PID" 2>/dev/null
    [ -n "$BLK_NAME" ] && xl destroy "$BLK_NAME" 2>/dev/null
    return $rc
}

# blk_finish <name> <seconds>: waits for the guest's script (output in $WORK/<name>.out), then for
# blkback to see the frontend go (it must exit by itself within 60 s: the guest powers off first, and
# Xen frees its memory before it releases the domain); non-zero if either failed
blk_finish() {
    local name=$1 rc
    GUEST_TIMEOUT=$2 guest.sh wait "$name" > "$WORK/$name.out"; rc=$?
    cat "$WORK/$name.out" >&2
    if ! wait_until 60 blk_gone; then
        echo "blkback did not exit within 60 s of the guest's end"; cat "$WORK/$name.blkback" >&2; return 1
    fi
    wait "$BLK_PID"; BLK_PID=
    cat "$WORK/$name.blkback" >&2
    [ $rc -eq 0 ] || { echo "the guest's script failed ($rc): $(tail -1 "$WORK/$name.out")"; return 1; }
}
blk_gone() { ! kill -0 "$BLK_PID" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$BLK_PID/stat" 2>/dev/null)" = Z ]; }
blk_connected() { [ "$(xenstore-read "/local/domain/$BLK_DOMID/device/vbd/$BLK_DEVICE/state" 2>/dev/null)" = 4 ]; }

# blk_frontend_keys: what the guest's blkfront negotiated, read from its Xenstore directory once it
# is connected (state 4), as "key=value ..." on one line
blk_frontend_keys() {
    local fe=/local/domain/$BLK_DOMID/device/vbd/$BLK_DEVICE
    wait_until 600 blk_connected || return 1
    local order queues pages
    order=$(xenstore-read "$fe/ring-page-order" 2>/dev/null || echo 0)
    queues=$(xenstore-read "$fe/multi-queue-num-queues" 2>/dev/null || echo 1)
    echo "feature-persistent=$(xenstore-read "$fe/feature-persistent") ring-page-order=$order" \
         "multi-queue-num-queues=$queues protocol=$(xenstore-read "$fe/protocol")"
}

# the line the guest printed that starts with <word>
blk_line() { grep "^$1 " "$WORK/$2.out" | head -1; }
blk_field() { blk_line "$1" "$3" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

# blk_mke2fs_files: dom0's own mke2fs and the libraries it needs, for the guest (busybox's makes ext2)
blk_mke2fs_files() {
    local mke2fs
    mke2fs=$(command -v mke2fs) || return 1
    echo "$mke2fs $(ldd "$mke2fs" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }' | tr '\n' ' ')"
}
# in the guest: run it through the dynamic loader copied beside it
BLK_MKE2FS='/usr/bin/ld-linux-x86-64.so.2 --library-path /usr/bin /usr/bin/mke2fs'

check_blkfront_fs() { blk_run blk_fs; }
blk_fs() {
    local img=$WORK/fs.img script=$WORK/fs.sh mib=512 keys
    truncate -s ${mib}M "$img"
    # The yardstick first: the same benchmark on xvdb, which Linux's xen-blkback serves (blk_linux_figures).
    BLK_PRELUDE='n=0
until [ "$(cat /sys/block/xvdb/size 2>/dev/null)" -gt 0 ] 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 1500 ] || break
    sleep 0.2
done
[ -b /dev/xvdb ] && blkbench /dev/xvdb 128 | sed "s/^/linux-/"
echo LINUX-DONE' blk_script "$script" <<EOF
blkbench /dev/xvda 128 || exit 12
$BLK_MKE2FS -q -F -t ext4 -E nodiscard /dev/xvda || { echo "mke2fs failed"; exit 13; }
mount -t ext4 /dev/xvda /mnt || { echo "mount failed"; exit 14; }
mkdir -p /mnt/d
for i in 1 2 3 4 5 6 7 8 9; do head -c 8388608 /dev/urandom > /mnt/d/f\$i || exit 15; done
head -c 12345 /dev/urandom > /mnt/small
(cd /mnt && sha256sum small d/f*) | sed 's/^/sha /'
sync
umount /mnt || { echo "umount failed"; exit 16; }
echo "fs done"
EOF
    BLK_FILES="$BIN/blkbench $(blk_mke2fs_files)" BLK_BEFORE=blk_linux_figures blk_start blkfs "$script" "$img" || return 1
    keys=$(blk_frontend_keys) || keys=
    blk_finish blkfs 900 || return 1
    [ -n "$keys" ] || { echo "the frontend never reached Connected"; return 1; }

    local size ro queues segs cache
    size=$(blk_field size size blkfs); queues=$(blk_field queues queues blkfs)
    segs=$(blk_field queues max_segments blkfs); cache=$(blk_field cache cache blkfs)
    [ "$size" = $((mib * 2048)) ] || { echo "the guest sees $size sectors, not $((mib * 2048))"; return 1; }
    e2fsck -fn "$img" >&2 || { echo "e2fsck -fn found errors in the image"; return 1; }
    local n=0 want name got
    while read -r _ want name; do
        got=$(debugfs -R "cat /$name" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
        [ "$got" = "$want" ] || { echo "/$name: the image holds $got, the guest wrote $want"; return 1; }
        n=$((n + 1))
    done < <(grep '^sha ' "$WORK/blkfs.out")
    [ $n -eq 10 ] || { echo "the guest hashed $n files, not 10"; return 1; }
    # What Linux negotiated: features it only uses when both ends offer them.
    case $keys in *feature-persistent=1*) ;; *) echo "no persistent grants: $keys"; return 1 ;; esac
    case $keys in *ring-page-order=2*) ;; *) echo "not a 4-page ring: $keys"; return 1 ;; esac
    case $keys in *multi-queue-num-queues=2*) ;; *) echo "not two queues: $keys"; return 1 ;; esac
    [ "$queues" = 2 ] || { echo "the guest's disk has $queues hardware queues, not 2"; return 1; }
    # max_segments above 11 means indirect descriptors
    [ "${segs:-0}" -gt 11 ] || { echo "max_segments $segs: no indirect descriptors"; return 1; }
    [ "$cache" = write_back ] || { echo "write cache '$cache': no flush"; return 1; }
    echo "$keys max_segments=$segs cache=$cache;" "ours: $(blk_figures "" blkfs);" \
         "Linux's xen-blkback: $(blk_figures linux- blkfs)"
}

# blk_figures <prefix> <name>: blkbench's figures, as the guest printed them with <prefix>
blk_figures() {
    blk_line "$1seq-write" "$2" | grep -q . || { echo "not measured"; return; }
    echo "$(blk_line "$1seq-write" "$2" | cut -d' ' -f2-3) write, $(blk_line "$1seq-read" "$2" | cut -d' ' -f2-3) read," \
         "4 KiB random reads $(blk_line "$1rand-read-qd1" "$2" | cut -d' ' -f2-3) QD1, $(blk_line "$1rand-read-qd32" "$2" | cut -d' ' -f2-3) QD32"
}

# blk_linux_figures <name>: serves xvdb from Linux's xen-blkback until the guest has measured it, then
# takes it away and unloads xen-blkback. Linux's blkback goes first because, once loaded, it probes
# every vbd backend directory of dom0, ours too, and closes those it cannot open.
blk_linux_figures() {
    local fe=/local/domain/$BLK_DOMID/device/vbd/51728 be=/local/domain/0/backend/vbd/$BLK_DOMID/51728
    blk_linux_vbd "$WORK/$1-linux.img" 256 || echo "no xvdb from Linux's xen-blkback"
    # not anchored: a kernel message may share the console line
    wait_until 900 grep -q 'LINUX-DONE' "$BLK_LOG/guest-$1.log" || echo "the guest never finished with xvdb"
    # As `xl block-detach` does: offline and Closing; the frontend closes and blkback lets the device go.
    xenstore-write "$be/online" 0 "$be/state" 5
    wait_until 60 bash -c "[ \"\$(xenstore-read $be/state 2>/dev/null)\" = 6 ]" || echo "xen-blkback did not close xvdb"
    xenstore-rm "$be"; xenstore-rm "$fe"
    rmmod xen-blkback || echo "cannot unload xen-blkback: it would take our vbd"
}

# blk_linux_vbd <image> <MiB>: xvdb for the guest, served by Linux's xen-blkback from a loop device
# over <image>. The keys are those `xl block-attach` and the block hotplug script would write (see
# linux-backends.sh); each directory is its owner's, readable by the other end.
blk_linux_vbd() {
    local img=$1 mib=$2 loop dev=51728
    local fe=/local/domain/$BLK_DOMID/device/vbd/$dev be=/local/domain/0/backend/vbd/$BLK_DOMID/$dev
    modprobe -a xen-blkback loop || { echo "cannot load xen-blkback"; return 1; }
    truncate -s "${mib}M" "$img"
    loop=$(losetup -f --show "$img") || { echo "no loop device"; return 1; }
    on_exit "losetup -d $loop"
    # In the order that lets each driver probe once and succeed, since a failed probe is never retried:
    # the backend's keys without its state (Linux's backend bus ignores a device with no state), made
    # readable to the guest; then the frontend's, which the guest probes at once (the new directory
    # inherits the guest's ownership of device/), reading the backend's; then the backend's state,
    # which makes xen-blkback probe, reading the frontend's.
    xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$BLK_DOMID" "$be/params" "$loop" "$be/type" phy "$be/mode" w \
            "$be/online" 1 "$be/removable" 0 "$be/bootable" 1 "$be/dev" xvdb "$be/device-type" disk \
            "$be/physical-device" "$(stat -L -c '%t:%T' "$loop")" &&
        xenstore-chmod -r "$be" n0 "r$BLK_DOMID" &&
        xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/virtual-device" $dev "$fe/device-type" disk "$fe/state" 1 &&
        xenstore-chmod -r "$fe" "n$BLK_DOMID" r0 &&
        xenstore-write "$be/state" 1 && xenstore-chmod "$be/state" n0 "r$BLK_DOMID" || { echo "cannot write xvdb's keys"; return 1; }
}

check_blkfront_readonly() { blk_run blk_readonly; }
blk_readonly() {
    local img=$WORK/ro.img script=$WORK/ro.sh before
    truncate -s 64M "$img"
    mkfs.ext4 -q -F -b 4096 "$img" >&2 || { echo "mkfs.ext4 in dom0 failed"; return 1; }
    head -c 1048576 /dev/urandom > "$WORK/ro.data"
    debugfs -w -R "write $WORK/ro.data data" "$img" >/dev/null 2>&1 || { echo "debugfs write failed"; return 1; }
    before=$(sha "$img")
    blk_script "$script" <<'EOF'
dd if=/dev/zero of=/dev/xvda bs=4096 count=1 oflag=direct 2>&1 && { echo "a write to the read-only disk succeeded"; exit 20; }
dd if=/dev/zero of=/dev/xvda bs=4096 count=1 seek=100 conv=fsync 2>&1 && { echo "a buffered write to the read-only disk succeeded"; exit 21; }
mount -t ext4 -o ro /dev/xvda /mnt || { echo "mount -o ro failed"; exit 22; }
echo "data $(sha256sum /mnt/data | cut -d' ' -f1)"
touch /mnt/new 2>/dev/null && { echo "created a file on a read-only mount"; exit 23; }
umount /mnt
echo "ro done"
EOF
    # 4096-byte logical sectors too: Linux reads `sectors` in 512-byte units whatever sector-size says.
    blk_start blkro "$script" "$img" --read-only --sector-size 4096 || return 1
    local be=/local/domain/0/backend/vbd/$BLK_DOMID/$BLK_DEVICE mode info
    wait_until 600 blk_connected
    mode=$(xenstore-read "$be/mode" 2>/dev/null); info=$(xenstore-read "$be/info" 2>/dev/null)
    blk_finish blkro 300 || return 1
    [ "$mode" = r ] && [ "$info" = 4 ] || { echo "backend mode '$mode' info '$info', not r and 4 (VDISK_READONLY)"; return 1; }
    [ "$(blk_field size ro blkro)" = 1 ] || { echo "/sys/block/xvda/ro is $(blk_field size ro blkro), not 1"; return 1; }
    [ "$(blk_field size size blkro)" = $((64 * 2048)) ] || { echo "the guest sees $(blk_field size size blkro) sectors, not $((64 * 2048))"; return 1; }
    [ "$(blk_field size logical blkro)" = 4096 ] || { echo "logical block size $(blk_field size logical blkro), not 4096"; return 1; }
    [ "$(blk_line data blkro | cut -d' ' -f2)" = "$(sha "$WORK/ro.data")" ] || { echo "the guest read the file wrong"; return 1; }
    [ "$(sha "$img")" = "$before" ] || { echo "the read-only image changed"; return 1; }
    echo "ro=1 mode=r info=4, 4096-byte sectors, $(blk_field size size blkro) 512-byte sectors"
}

check_blkfront_discard() { blk_run blk_discard; }
blk_discard() {
    local img=$WORK/discard.img script=$WORK/discard.sh before after
    # 128 MiB of random data in a 256 MiB image: every block of the first half is allocated.
    head -c 134217728 /dev/urandom > "$img"; truncate -s 256M "$img"
    before=$(stat -c %b "$img")
    blk_script "$script" <<EOF
[ "\$(cat /sys/block/xvda/queue/discard_max_bytes)" -gt 0 ] || { echo "no discard on xvda"; exit 30; }
# 1. blkdiscard of 32 MiB at 16 MiB: it read random data before and reads zeros after.
dd if=/dev/xvda bs=1M skip=16 count=32 iflag=direct 2>/dev/null | tr -d '\000' | head -c 1 | grep -q . || { echo "the range was zeros already"; exit 31; }
blkdiscard -o 16777216 -l 33554432 /dev/xvda || { echo "blkdiscard failed"; exit 32; }
nz=\$(dd if=/dev/xvda bs=1M skip=16 count=32 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)
[ "\$nz" = 0 ] || { echo "\$nz non-zero bytes in the discarded range"; exit 33; }
echo "blkdiscard zeroed"
# 2. fstrim: a file system over the rest of the old data; what it does not use gets discarded.
$BLK_MKE2FS -q -F -t ext4 -E nodiscard /dev/xvda || { echo "mke2fs failed"; exit 34; }
mount -t ext4 /dev/xvda /mnt || exit 35
head -c 16777216 /dev/urandom > /mnt/keep
echo "keep \$(sha256sum /mnt/keep | cut -d' ' -f1)"
head -c 33554432 /dev/urandom > /mnt/gone; sync; rm /mnt/gone; sync
fstrim -v /mnt || { echo "fstrim failed"; exit 36; }
umount /mnt
echo "discard done"
EOF
    BLK_FILES="$(blk_mke2fs_files)" blk_start blkdiscard "$script" "$img" || return 1
    blk_finish blkdiscard 600 || return 1
    after=$(stat -c %b "$img")
    e2fsck -fn "$img" >&2 || { echo "e2fsck -fn found errors in the image"; return 1; }
    [ "$(debugfs -R "cat /keep" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(blk_line keep blkdiscard | cut -d' ' -f2)" ] \
        || { echo "/keep in the image differs from what the guest wrote"; return 1; }
    # fstrim leaves the 16 MiB file and the file system's metadata; 128 MiB were allocated before.
    [ $((after * 512)) -lt $((64 << 20)) ] \
        || { echo "the image still has $((after / 2048)) MiB allocated (was $((before / 2048)) MiB): fstrim did not reach it"; return 1; }
    echo "blkdiscard read back zeros; allocated $((before / 2048)) MiB -> $((after / 2048)) MiB after fstrim ($(blk_line /mnt: blkdiscard))"
}
