# framebuffer.sh: Linux's xen-fbfront and xen-kbdfront (built into Debian's kernel) in a PV guest,
# against `mirage fbback --backend xenctrl --vnc 127.0.0.1:5900` in dom0.
#
# The checks share the netfront checks' guest (nf_up): its command server on 10.14.0.2 runs each guest
# step, and no second guest boots. fbback does the toolstack's step (--create-device: the vfb and vkbd
# directories in one transaction, as xl writes them), so xen-fbfront and xen-kbdfront probe devices
# served by it, never QEMU. What each check proves:
#   fb-connect         both frontends reach Connected with fbback, which maps the guest's page-ref and
#                      pd[] frames through privcmd (IOCTL_PRIVCMD_MMAPBATCH_V2)
#   fb-screenshot      the guest writes known text to its framebuffer console (tty1) and dumps /dev/fb0;
#                      vncsnapshot, a real VNC client, takes a screenshot; the two must agree pixel for
#                      pixel (within JPEG's error) and the text rows must not be blank. The screenshot is
#                      saved as $BIN/fb-screenshot.png (the host's xen-vm/linux-peers/bin)
#   kbd-typed-command  a shell reads tty1; keys typed through the VNC connection (fbcheck.py's KeyEvents,
#                      through kbdif to xen-kbdfront) run a command whose output only the shell can make
#   fb-resize          the guest sets a smaller mode (fbres, FBIOPUT_VSCREENINFO); xen-fbfront sends a
#                      resize event; a VNC client sees it as a DesktopSize

FB_VNC=127.0.0.1:5900
FB_LINES=6
FB_STATE=$WORK/fb-state     # "up", or why the setup failed
FB_PID=$WORK/fb-pid
FB_PNG=$BIN/fb-screenshot.png
FB_CHECK="python3 $HERE/fbcheck.py"
FB_WAIT=${FB_WAIT:-120}     # seconds for a typed command to run, and for a resize to reach the client

fb_cleanup() {
    local pid; pid=$(cat "$FB_PID" 2>/dev/null) || return 0
    kill "$pid"; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
}
on_exit fb_cleanup

fb_state() { xenstore-read "$1/state" 2>/dev/null; }

fb_logs() {
    echo "== fbback" >&2; tail -15 "$WORK/fbback.log" >&2 2>/dev/null
    echo "== xenstore: vfb and vkbd" >&2
    xenstore-ls -f "/local/domain/$NF_DOMID/device/vfb" "/local/domain/$NF_DOMID/device/vkbd" >&2 2>/dev/null
    xenstore-ls -f "/local/domain/0/backend/vfb/$NF_DOMID" "/local/domain/0/backend/vkbd/$NF_DOMID" >&2 2>/dev/null
    echo "== guest" >&2; nf_sh 10.14.0.2 "dmesg | grep -iE 'fb|kbd|input' | tail -8" >&2 2>/dev/null
}

# fb_start: starts fbback for the guest, once. nf_setup calls it as soon as the guest exists, so that
# .NET's start under emulation overlaps the guest's boot and the netbacks' start.
fb_start() {
    [ -e "$FB_PID" ] && return 0
    date +%s.%N > "$WORK/fb-started"
    # .NET's W^X double mapping of JIT'd code traps under QEMU's TCG in dom0: map JIT'd code once.
    DOTNET_EnableWriteXorExecute=0 mirage fbback --backend xenctrl --create-device --frontend-domain "$NF_DOMID" \
        --vnc $FB_VNC --timeout 900 > "$WORK/fbback.out" 2> "$WORK/fbback.log" &
    echo $! > "$FB_PID"
}

# fb_connected <device type>: both ends of the guest's device 0 are Connected
fb_connected() {
    [ "$(fb_state "/local/domain/0/backend/$1/$NF_DOMID/0")" = 4 ] && [ "$(fb_state "/local/domain/$NF_DOMID/device/$1/0")" = 4 ]
}

# fb_wait <seconds> <command...>: as wait_until, but gives up at once if fbback has exited
fb_wait() {
    local limit=$1; shift
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        kill -0 "$(cat "$FB_PID")" 2>/dev/null || { echo "fbback exited: $(tail -3 "$WORK/fbback.log" | tr '\n' ' ')"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out after $limit s"; return 1; }
        sleep 0.2
    done
}

# fb_up: fbback started and both frontends connected, once; later calls report how that went.
fb_up() {
    if [ -e "$FB_STATE" ]; then
        [ "$(cat "$FB_STATE")" = up ] || { cat "$FB_STATE"; return 1; }
        read -r NF_DOMID NF_IF0 NF_IF1 < "$WORK/nf-guest"
        return 0
    fi
    fb_setup > "$FB_STATE" && echo up > "$FB_STATE"
    fb_up
}

fb_setup() {
    nf_up || return 1
    fb_start
    local why
    if ! why=$(fb_wait 900 fb_connected vfb); then
        echo "the framebuffer never connected ($why; backend state $(fb_state "/local/domain/0/backend/vfb/$NF_DOMID/0"), frontend $(fb_state "/local/domain/$NF_DOMID/device/vfb/0"))"
        fb_logs; return 1
    fi
    awk -v a="$(cat "$WORK/fb-started")" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }' > "$WORK/fb-took"
    if ! why=$(fb_wait 120 eval 'fb_connected vkbd && grep -q "keyboard connected" "$WORK/fbback.log"'); then
        echo "the keyboard never connected ($why; backend state $(fb_state "/local/domain/0/backend/vkbd/$NF_DOMID/0"), frontend $(fb_state "/local/domain/$NF_DOMID/device/vkbd/0"))"
        fb_logs; return 1
    fi
    grep -q "^fbback: VNC on $FB_VNC" "$WORK/fbback.out" || { echo "fbback did not say it serves VNC on $FB_VNC"; fb_logs; return 1; }
}

check_fb_connect() {
    fb_up || return 1
    local fe=/local/domain/$NF_DOMID/device
    # fbback offers an absolute pointer in the toolstack's step, where xen-kbdfront reads it at probe
    [ "$(xenstore-read $fe/vkbd/0/request-abs-pointer 2>/dev/null)" = 1 ] \
        || { echo "xen-kbdfront did not ask for the absolute pointer fbback offers"; fb_logs; return 1; }
    local mode; mode=$(sed -n 's/^fbback: connected to domain [0-9]*: //p' "$WORK/fbback.log")
    echo "vfb and vkbd Connected $(cat "$WORK/fb-took") ms after fbback started (beside the guest's boot); mode $mode;" \
        "xen-fbfront published page-ref $(xenstore-read $fe/vfb/0/page-ref), protocol $(xenstore-read $fe/vfb/0/protocol)," \
        "feature-update $(xenstore-read $fe/vfb/0/feature-update 2>/dev/null || echo -);" \
        "xen-kbdfront page-gref $(xenstore-read $fe/vkbd/0/page-gref 2>/dev/null || echo -), page-ref $(xenstore-read $fe/vkbd/0/page-ref 2>/dev/null || echo -)," \
        "request-abs-pointer $(xenstore-read $fe/vkbd/0/request-abs-pointer 2>/dev/null || echo -)"
}

check_fb_screenshot() {
    fb_up || return 1
    local nonce=$RANDOM$RANDOM i text=
    for i in $(seq 1 $FB_LINES); do text="$text\\nMIRAGE FRAMEBUFFER CHECK $nonce, line $i of $FB_LINES: xen-fbfront to mirage fbback"; done
    # A fixed screen (no blinking cursor, cleared, then the text), then its geometry and the guest's own
    # bytes of it, in one step through the guest's command server
    local cmd="echo 0 > /sys/class/graphics/fbcon/cursor_blink; printf '\\033[?25l\\033[H\\033[2J${text#\\n}\\n' > /dev/tty1 &&"
    cmd="$cmd cat /sys/class/graphics/fb0/virtual_size /sys/class/graphics/fb0/stride | tr '\\n,' '  ' && echo &&"
    cmd="$cmd head -c \$((\$(cut -d, -f2 /sys/class/graphics/fb0/virtual_size) * \$(cat /sys/class/graphics/fb0/stride))) /dev/fb0 | gzip -c | base64"
    nf_sh 10.14.0.2 "$cmd" > "$WORK/fb.dump" || { echo "the guest could not write to tty1 or dump fb0: $(head -3 "$WORK/fb.dump")"; return 1; }
    local w h stride
    read -r w h stride < "$WORK/fb.dump"
    [ -n "$stride" ] || { echo "the guest has no fb0: $(head -3 "$WORK/fb.dump")"; return 1; }
    tail -n +2 "$WORK/fb.dump" | base64 -d | gzip -dc > "$WORK/fb.raw" || { echo "the guest's framebuffer dump did not come back whole"; return 1; }
    rm -f "$WORK/fb.jpg" "$FB_PNG"
    timeout 300 vncsnapshot -quality 100 "${FB_VNC%:*}:$(( ${FB_VNC##*:} - 5900 ))" "$WORK/fb.jpg" >&2 \
        || { echo "vncsnapshot failed"; fb_logs; return 1; }
    djpeg -pnm "$WORK/fb.jpg" > "$WORK/fb.ppm" || { echo "djpeg cannot read vncsnapshot's JPEG"; return 1; }
    $FB_CHECK compare "$WORK/fb.raw" "$w" "$h" "$stride" "$WORK/fb.ppm" "$FB_PNG" $FB_LINES
}

check_kbd_typed_command() {
    fb_up || return 1
    local n=$((RANDOM + 1000))
    # A shell whose input is tty1, which the VT's keyboard (xen-kbdfront's input device) feeds
    nf_sh 10.14.0.2 "rm -f /tmp/kbd; setsid sh -c 'exec env PS1=\"fb# \" sh -i </dev/tty1 >/dev/tty1 2>&1' </dev/null >/dev/null 2>&1 & i=0; until ps | grep -q '[s]h -i'; do i=\$((i + 1)); [ \$i -lt 150 ] || exit 1; sleep 0.2; done" >&2 \
        || { echo "no shell on tty1 in the guest"; return 1; }
    # Only the shell can write the product: the typed text holds the factors.
    $FB_CHECK type $FB_VNC "echo kbd-\$(($n * 7)) > /tmp/kbd"$'\n' >&2 || { echo "typing through VNC failed"; fb_logs; return 1; }
    # The guest waits for the file itself: one round trip
    if ! nf_sh 10.14.0.2 "i=0; until grep -qx kbd-$((n * 7)) /tmp/kbd 2>/dev/null; do i=\$((i + 1)); [ \$i -lt $((FB_WAIT * 5)) ] || exit 1; sleep 0.2; done" >/dev/null; then
        echo "the typed command did not run: /tmp/kbd holds '$(nf_sh 10.14.0.2 "cat /tmp/kbd 2>&1")'"; fb_logs; return 1
    fi
    echo "typed 'echo kbd-\$(($n * 7)) > /tmp/kbd' through VNC; the guest's shell wrote kbd-$((n * 7))"
}

check_fb_resize() {
    fb_up || return 1
    rm -f "$WORK/fb-ready"
    $FB_CHECK wait-resize $FB_VNC 640 480 "$WORK/fb-ready" $FB_WAIT > "$WORK/fb-resize.out" 2>&1 &
    local client=$!
    wait_until 120 test -e "$WORK/fb-ready" || { echo "the VNC client never got its first update: $(cat "$WORK/fb-resize.out")"; kill $client; return 1; }
    local got; got=$(nf_sh 10.14.0.2 "fbres 640 480") || { echo "the guest could not set 640x480: $got"; kill $client; return 1; }
    if ! wait $client; then echo "$(cat "$WORK/fb-resize.out")"; fb_logs; return 1; fi
    echo "the guest's fb0 is now $got; fbback: $(grep -o 'the frontend resized to .*' "$WORK/fbback.log" | tail -1); the client saw $(cat "$WORK/fb-resize.out")"
}
