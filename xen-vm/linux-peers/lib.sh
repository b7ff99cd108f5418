# lib.sh: what the linux-peers checks share. Sourced by run-all.sh in dom0.
WORK=$(mktemp -d /run/tmp/linux-peers.XXXXXX)
CLEANUPS=()

# milliseconds since an $EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# on_exit <command...>: run when all checks are done (kill a backend, destroy a guest)
on_exit() { CLEANUPS+=("$*"); }
cleanup_all() { local c; for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done; }

# sweep: what a failed check may have left behind. A process still holding the output would keep dom0
# from powering off, and a guest would keep its pages.
sweep() {
    # "dotnet <dll>", not the bare path: run-all.sh's own command line names the dll too
    pkill -9 -f "dotnet $MIRAGE" 2>/dev/null
    pkill -9 -f "^$BIN/" 2>/dev/null
    local d
    for d in $(xl list 2>/dev/null | awk 'NR > 2 { print $1 }'); do xl destroy "$d" 2>/dev/null; done
}

# mirage <args...>: the mirage command under test. In a subshell (a background job, a pipeline) it
# execs, so that $! is mirage's own pid: a kill -9 must reach it, not a shell that waits for it.
mirage() { if [ "$BASHPID" != "$$" ]; then exec dotnet "$MIRAGE" "$@"; else dotnet "$MIRAGE" "$@"; fi; }

# wait_until <seconds> <command...>: polls every 0.2 s; non-zero if it never held
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
