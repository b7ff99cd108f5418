#!/bin/bash
# run-all.sh <mirage.dll> [<check>...]: runs in dom0 (check-linux-peers.sh boots it). Each group file
# beside this one defines check_<name> functions for its checks; a check prints why it failed and
# returns non-zero. Output: "PASS <check> (<ms>)" or "FAIL <check>: <why>", then the totals.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MIRAGE=$(realpath "$1"); shift
export BIN=$HERE/bin
export PATH=$PATH:$(dirname "$HERE")          # guest.sh
CHECKS=(netfront-ping netfront-tcp netfront-mtu9000 netfront-2queues
        blkfront-fs blkfront-readonly blkfront-discard
        our-netfront-linux-netback our-blkfront-linux-blkback
        fb-connect fb-screenshot kbd-typed-command fb-resize
        vchan-cross-domain guest-destroyed backend-killed frontend-killed)
[ $# -gt 0 ] && CHECKS=("$@")

. "$HERE/lib.sh"
for group in "$HERE"/groups/*.sh; do . "$group"; done

passed=0; failed=0
for check in "${CHECKS[@]}"; do
    fn=check_${check//-/_}
    start=$EPOCHREALTIME
    if ! declare -F "$fn" >/dev/null; then
        echo "FAIL $check: no such check"; failed=$((failed + 1)); continue
    fi
    # in this shell, not a subshell, so that the check's on_exit registrations and state outlive it
    "$fn" >"$WORK/$check.out" 2>"$WORK/$check.err"
    status=$?
    why=$(tr '\n' ' ' < "$WORK/$check.out" | sed 's/ *$//')
    if [ $status -eq 0 ]; then
        echo "PASS $check ($(since "$start") ms)${why:+ $why}"; passed=$((passed + 1))
    else
        echo "FAIL $check: ${why:-failed}"; failed=$((failed + 1))
        tail -60 "$WORK/$check.err" | sed 's/^/  /'
    fi
done
cleanup_all
sweep
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
