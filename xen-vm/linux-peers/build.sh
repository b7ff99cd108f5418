#!/bin/bash
# build.sh <out>: the host-built programs the linux-peers checks run in dom0 or in a guest.
set -eu
OUT=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$OUT"
for c in "$HERE"/*.c; do
    [ -e "$c" ] || continue
    exe=$OUT/$(basename "$c" .c)
    [ "$exe" -nt "$c" ] || gcc -O2 -Wall -o "$exe" "$c" $(sed -n 's|^// link: ||p' "$c")
done
