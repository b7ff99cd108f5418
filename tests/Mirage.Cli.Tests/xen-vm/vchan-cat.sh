#!/bin/bash
# vchan-cat.sh <mirage.dll>: `mirage vchan-cat --backend xenctrl` in a Xen dom0, against Xen's own xenstored
# and against libxenvchan (vchan-socket-proxy from xen-utils). Every end is domain 0: dom0 grants to itself.
# Prints "PASS <check> (<ms>)" or "FAIL <check>: <why>" per check, then "<n> passed, <m> failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
MIRAGE=$(realpath "$1")
CAT=(dotnet "$MIRAGE" vchan-cat --backend xenctrl)
PROXY=vchan-socket-proxy
BASE=/local/domain/0/data/vchan/0      # where a server in domain 0 publishes for a client in domain 0
LIMIT=240                               # seconds any one process may take
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0; failed=0

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
pass() { echo "PASS $1 ($(since "$2") ms)$3"; passed=$((passed + 1)); }
fail() {
    echo "FAIL $1: $2"; failed=$((failed + 1))
    for f in "$T"/"$1".*.err; do [ -s "$f" ] && sed "s|^|  ${f##*/}: |" "$f"; done
}
duplex() { timeout -k 5 $LIMIT python3 "$HERE/duplex.py" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# waits for a server's rendezvous (ring-ref and event-channel) while its process lives
published() {
    for _ in $(seq 1 $((LIMIT * 5))); do
        xenstore-exists "$1/event-channel" 2>/dev/null && xenstore-exists "$1/ring-ref" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
# verify <what> <result line of duplex.py> <file it should have received>: empty, or why not
verify() {
    local bytes hash code _
    read -r bytes hash code _ <<< "$2"
    if [ "${code:-}" != 0 ]; then echo "$1 exited with ${code:-nothing} after $bytes bytes"
    elif [ "$bytes" != "$(size "$3")" ]; then echo "$1 received $bytes bytes, not $(size "$3")"
    elif [ "$hash" != "$(sha "$3")" ]; then echo "$1 received $bytes bytes with sha256 $hash, not $(sha "$3")"
    fi
}

head -c 64M /dev/urandom > "$T/64m"; head -c 4M /dev/urandom > "$T/4m"; head -c 3M /dev/urandom > "$T/3m"
head -c 2M /dev/urandom > "$T/2m"; head -c 1M /dev/urandom > "$T/1m"; : > "$T/empty"

# ours -> ours: the server's input ends after 64 MiB and closes the vchan; the client reads to the end.
# extra: vchan-cat arguments for both ends (e.g. --xenstore /dev/xen/xenbus)
ours_to_ours() {
    local name=$1 data=$2 port=$3; shift 3
    local t0=$EPOCHREALTIME
    timeout -k 5 $LIMIT "${CAT[@]}" "$@" --listen 0 "$port" < "$data" > /dev/null 2> "$T/$name.server.err" & local server=$!
    local got why
    got=$(duplex "$T/empty" -1 -- "${CAT[@]}" "$@" 0 "$port" 2> "$T/$name.client.err")
    wait $server; local code=$?
    why=$(verify client "$got" "$data")
    [ -z "$why" ] && [ $code != 0 ] && why="the server exited with $code"
    [ -z "$why" ] && xenstore-exists "$BASE/$port" 2>/dev/null && why="the server left $BASE/$port behind"
    if [ -n "$why" ]; then fail "$name" "$why"; return; fi
    local secs; secs=$(awk '{ print $5 }' <<< "$got")
    pass "$name" "$t0" "; $(size "$data") bytes in ${secs} s from first to last byte"
}

ours_to_ours ours-to-ours-64MiB "$T/64m" big
# the xenbus device instead of the daemon's socket: what a domU has
ours_to_ours ours-to-ours-over-xenbus "$T/1m" bus --xenstore /dev/xen/xenbus

# ours serves, libxenvchan connects: 4 MiB to the proxy, 3 MiB back
name=ours-server-libxenvchan-client; t0=$EPOCHREALTIME
duplex "$T/4m" $((3 << 20)) -- "${CAT[@]}" --listen 0 p2 > "$T/p2.ours" 2> "$T/$name.ours.err" & ours=$!
if published "$BASE/p2" $ours; then
    proxy=$(duplex "$T/3m" $((4 << 20)) -- $PROXY 0 "$BASE/p2" - 2> "$T/$name.proxy.err")
else
    proxy="0 - none"
fi
wait $ours
why=$(verify vchan-socket-proxy "$proxy" "$T/4m"); [ -z "$why" ] && why=$(verify vchan-cat "$(cat "$T/p2.ours")" "$T/3m")
if [ -n "$why" ]; then fail $name "$why"; else pass $name "$t0" "; 4 MiB to the proxy, 3 MiB back"; fi

# libxenvchan serves (its rings: 1 KiB each way, so less data), ours connects: 2 MiB to ours, 1 MiB back
name=libxenvchan-server-ours-client; t0=$EPOCHREALTIME
duplex "$T/2m" $((1 << 20)) -- $PROXY -m server 0 "$BASE/p3" - > "$T/p3.proxy" 2> "$T/$name.proxy.err" & proxy=$!
ours=$(duplex "$T/1m" $((2 << 20)) -- "${CAT[@]}" 0 p3 2> "$T/$name.ours.err")
wait $proxy
why=$(verify vchan-cat "$ours" "$T/2m"); [ -z "$why" ] && why=$(verify vchan-socket-proxy "$(cat "$T/p3.proxy")" "$T/1m")
if [ -n "$why" ]; then fail $name "$why"; else pass $name "$t0" "; 2 MiB to ours, 1 MiB back"; fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
