#!/bin/bash
# vchan-cat.sh <mirage.dll>: `mirage vchan-cat --backend xenctrl` in a Xen dom0, against Xen's own xenstored
# and against libxenvchan (vchan-socket-proxy from xen-utils). Every end is domain 0: dom0 grants to itself.
# Also: a peer killed with -9 mid-stream ends the other end. Needs python3 (xen-utils pulls it in).
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

# a vchan-cat whose peer is killed (-9) mid-stream ends within a minute: Xen's unmap notification clears
# the dead end's live byte and signals. (The survivor exits 0: vchan cannot tell a kill from a close.)
gone_within() { for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; return 1; }
killed_peer() {
    local name=$1 victim=$2 port=k$2 t0=$EPOCHREALTIME
    "${CAT[@]}" --listen 0 "$port" < "$T/64m" > /dev/null 2> "$T/$name.server.err" & local server=$!
    # the client's input: a pipe that stays open (this script holds its other end) and never ends
    mkfifo "$T/$port.in"; exec 7<> "$T/$port.in"
    "${CAT[@]}" 0 "$port" > "$T/$port.out" 2> "$T/$name.client.err" < "$T/$port.in" & local client=$!
    exec 7>&-
    local got=0
    for _ in $(seq 1 $((LIMIT * 5))); do
        got=$(size "$T/$port.out"); [ "$got" -gt $((4 << 20)) ] && break
        kill -0 $server 2>/dev/null && kill -0 $client 2>/dev/null || break
        sleep 0.2
    done
    local dead=$server survivor=$client
    [ "$victim" = client ] && { dead=$client; survivor=$server; }
    local why= tk=$EPOCHREALTIME
    if [ "$got" -le $((4 << 20)) ] || [ "$got" -ge $((64 << 20)) ]; then why="the client had $got bytes when the $victim was to be killed"
    elif ! kill -9 $dead 2>/dev/null; then why="the $victim had already exited"
    elif ! gone_within $survivor; then why="the other end still runs 60 s after the $victim was killed"
    fi
    kill -9 $server $client 2>/dev/null; wait $server $client 2>/dev/null
    if [ -n "$why" ]; then fail "$name" "$why"; else pass "$name" "$t0" "; the other end ended $(since "$tk") ms after the kill"; fi
}
killed_peer killed-server-ends-the-client server 2> /dev/null   # (no "Killed" job notices)
killed_peer killed-client-ends-the-server client 2> /dev/null

echo "$passed passed, $failed failed"
[ $failed = 0 ]
