#!/usr/bin/env bash
# Runs fuzz targets under AFL++: bash tests/fuzz/run.sh <target|all> <seconds>
# Builds Mirage.Fuzz (Release), instruments the library assemblies under test with sharpfuzz, runs
# afl-fuzz on the seed corpus in tests/fuzz/corpus/<target> and prints one PASS or FAIL line per
# target. Output goes to ${TMPDIR:-/tmp}/mirage-fuzz/<target>. Exits non-zero if any target crashed,
# hung or could not run. See docs/fuzzing.md.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:-}"
seconds="${2:-60}"
if [ -z "$target" ]; then
    echo "usage: bash tests/fuzz/run.sh <target|all> <seconds>" >&2
    exit 2
fi
work="${TMPDIR:-/tmp}/mirage-fuzz"
bin="$work/bin"
mkdir -p "$work"

command -v afl-fuzz >/dev/null || { echo "FAIL fuzz-$target: afl-fuzz not found (apt-get install afl++)"; exit 1; }

# The sharpfuzz tool comes from the manifest next to this script.
(cd "$here" && dotnet tool restore >/dev/null) || { echo "FAIL fuzz-$target: dotnet tool restore failed"; exit 1; }

# A fresh build output each run: sharpfuzz rewrites the assemblies in place.
rm -rf "$bin"
dotnet build "$here/Mirage.Fuzz/Mirage.Fuzz.csproj" -c Release -o "$bin" -v quiet -nologo >"$work/build.log" 2>&1 || {
    echo "FAIL fuzz-$target: build failed, see $work/build.log"; exit 1; }
# The assemblies that hold the code under test; not the fuzz program, not the in-heap backends.
for dll in SharedMemoryRing Xen.Store Netif Blkif Vchan; do
    (cd "$here" && dotnet sharpfuzz "$bin/$dll.dll") >>"$work/build.log" 2>&1 || {
        echo "FAIL fuzz-$target: sharpfuzz could not instrument $dll.dll, see $work/build.log"; exit 1; }
done

if [ "$target" = all ]; then
    targets=$(dotnet "$bin/Mirage.Fuzz.dll" --list)
else
    targets="$target"
fi

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1
status=0
for t in $targets; do
    out="$work/$t"
    if [ ! -d "$here/corpus/$t" ]; then
        echo "FAIL fuzz-$t: no seed corpus in tests/fuzz/corpus/$t"; status=1; continue
    fi
    rm -rf "$out"
    # -t: ms per input (the driver targets start threads); -m none: .NET reserves more than AFL's default.
    afl-fuzz -i "$here/corpus/$t" -o "$out" -V "$seconds" -t 5000 -m none -- dotnet "$bin/Mirage.Fuzz.dll" "$t" >"$work/$t.log" 2>&1
    rc=$?
    stats="$out/default/fuzzer_stats"
    if [ ! -f "$stats" ]; then
        echo "FAIL fuzz-$t: afl-fuzz did not start (exit $rc), see $work/$t.log"; status=1; continue
    fi
    field() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
    execs=$(field execs_done)
    paths=$(field corpus_count); paths=${paths:-$(field paths_total)}
    crashes=$(field saved_crashes); crashes=${crashes:-$(field unique_crashes)}
    hangs=$(field saved_hangs); hangs=${hangs:-$(field unique_hangs)}
    if [ "${crashes:-0}" -gt 0 ] || [ "${hangs:-0}" -gt 0 ]; then
        echo "FAIL fuzz-$t: $crashes crashes, $hangs hangs, saved in $out/default/crashes and $out/default/hangs"
        status=1
    else
        echo "PASS fuzz-$t ($execs execs, $paths paths, 0 crashes)"
    fi
done
exit $status
