#!/bin/bash
# guest.sh: boots a Linux PV guest in this dom0 with `xl create` and runs a script in it.
#
#   guest.sh start <name> <script> [<xl config line>...]   boot it; prints its domain id
#   guest.sh wait <name> [<seconds>]                       wait for the script; print its output; exit
#                                                          with its status (124: it did not finish)
#   guest.sh run <name> <script> [<xl config line>...]     start, then wait
#
# The guest is Debian's kernel (dom0's own) with a busybox initramfs that loads xen-netfront,
# xen-blkfront, ext4 and the devices libxenvchan uses, then runs <script> with busybox's sh. Its output
# comes back through its console: xenconsoled logs it to /var/log/xen/console/guest-<name>.log. Extra
# config lines add devices, e.g. "disk=['...']"; without them the guest has none, and a backend can
# create them later in Xenstore. GUEST_FILES (paths, space-separated) are copied into the guest's
# /usr/bin, e.g. static programs built on the host. GUEST_MEMORY (MiB, default 192) sizes it; GUEST_TIMEOUT (default 300)
# bounds wait. The guest powers off when the script ends; wait destroys it if it has not.
set -u
BASE=/usr/share/xen-vm/guest
RUNS=/run/xen-vm/guests
CONSOLE=/var/log/xen/console

usage() { sed -n '3,8p' "$0" | sed 's/^# //' >&2; exit 2; }

start() {
    local name=$1 script=$2; shift 2
    local dir=$RUNS/$name
    rm -rf "$dir"; mkdir -p "$dir/payload"
    cp "$script" "$dir/payload/script"
    if [ -n "${GUEST_FILES:-}" ]; then mkdir -p "$dir/payload/usr/bin" && cp $GUEST_FILES "$dir/payload/usr/bin/"; fi
    # Linux unpacks concatenated cpio archives in order: the script joins the base initramfs.
    (cd "$dir/payload" && find . | busybox cpio -o -H newc 2>/dev/null) > "$dir/script.cpio"
    cat "$BASE/initrd.cpio" "$dir/script.cpio" > "$dir/initrd.cpio"
    {
        echo "name = '$name'"
        echo "type = 'pv'"
        echo "kernel = '$BASE/vmlinuz'"
        echo "ramdisk = '$dir/initrd.cpio'"
        echo "extra = 'console=hvc0 loglevel=3'"
        echo "memory = ${GUEST_MEMORY:-192}"
        echo "vcpus = 1"
        echo "on_poweroff = 'destroy'"
        echo "on_crash = 'destroy'"
        for line in "$@"; do echo "$line"; done
    } > "$dir/guest.cfg"
    rm -f "$CONSOLE/guest-$name.log"
    date +%s.%N > "$dir/created"
    xl create -q "$dir/guest.cfg" > "$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; return 1; }
    xl domid "$name"
}

# the script's output: the console log between the guest's two markers
output() {
    tr -d '\r' < "$CONSOLE/guest-$1.log" 2>/dev/null | sed -n '/^GUEST-READY /,/^GUEST-EXIT /p' | sed '1d;/^GUEST-EXIT /d'
}

wait_for() {
    local name=$1 limit=${2:-${GUEST_TIMEOUT:-300}} log=$CONSOLE/guest-$1.log dir=$RUNS/$1
    local deadline=$(( $(date +%s) + limit )) ready=
    while :; do
        if [ -z "$ready" ] && grep -q '^GUEST-READY ' "$log" 2>/dev/null; then
            ready=$(awk -v a="$(cat "$dir/created")" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            echo "guest $name: ready ${ready}s after xl create" >&2
        fi
        grep -q '^GUEST-EXIT ' "$log" 2>/dev/null && break
        if ! xl domid "$name" >/dev/null 2>&1; then
            # xenconsoled drains the console ring after the guest has powered off: give the log a
            # moment to catch up before calling it a crash.
            for _ in $(seq 1 15); do grep -q '^GUEST-EXIT ' "$log" 2>/dev/null && break; sleep 0.2; done
            grep -q '^GUEST-EXIT ' "$log" 2>/dev/null && break
            output "$name"; echo "guest $name ended without finishing its script; its console:" >&2
            tail -30 "$log" >&2 2>/dev/null; return 125
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            output "$name"; echo "guest $name did not finish within ${limit}s; its console:" >&2
            tail -30 "$log" >&2 2>/dev/null
            xl destroy "$name" 2>/dev/null; return 124
        fi
        sleep 0.2
    done
    output "$name"
    local rc; rc=$(tr -d '\r' < "$log" | awk '/^GUEST-EXIT / {print $2; exit}')
    for _ in $(seq 1 50); do xl domid "$name" >/dev/null 2>&1 || break; sleep 0.2; done
    xl destroy "$name" 2>/dev/null
    return "${rc:-125}"
}

[ $# -ge 2 ] || usage
case $1 in
    start) [ $# -ge 3 ] || usage; shift; start "$@" ;;
    wait) shift; wait_for "$@" ;;
    run) [ $# -ge 3 ] || usage; shift; name=$1; start "$@" >/dev/null || exit 125; wait_for "$name" ;;
    *) usage ;;
esac
