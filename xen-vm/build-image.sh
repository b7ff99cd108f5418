#!/bin/bash
# build-image.sh: builds what run-in-dom0.sh boots, from Debian's packages only.
#
# Writes $XENVM_DIR/images (XENVM_DIR defaults to ~/.cache/xen-vm):
#   xen.elf      the Xen 4.17 hypervisor, from xen-hypervisor-4.17-amd64
#   vmlinuz      Debian's bookworm kernel; it boots as the PV dom0 and again as a PV guest
#   initrd.cpio  dom0's root file system: debootstrap minbase, xen-utils, the kernel modules the tests
#                use, and /init (dom0-init.sh). It carries the guest's kernel and initramfs in
#                /usr/share/xen-vm/guest, for guest.sh.
#   stamp        the SHA-256 of this script and the init scripts it packs: a changed script means a
#                stale image, and run-in-dom0.sh refuses to boot it.
#
# Needs root and Debian's apt. Installs qemu-system-x86, debootstrap, cpio and kmod on the host; the kernel
# and Xen packages are only downloaded and unpacked under $XENVM_DIR. About a minute.
# --init-only rewrites the init scripts in an existing build and repacks it (seconds).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=${XENVM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xen-vm}
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$MIRROR" ] || { echo "no Debian mirror in apt's sources: set DEBIAN_MIRROR" >&2; exit 1; }
SUITE=bookworm
XENVER=4.17
OUT=$W/images
ROOTFS=$W/build/rootfs
GUEST=$W/build/guest
DEBS=$W/build/debs
EXTRACT=$W/build/extract

log() { echo "[build-image] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "build-image.sh must run as root" >&2; exit 1; }
INIT_ONLY=0; [ "${1:-}" = --init-only ] && INIT_ONLY=1
[ $INIT_ONLY = 0 ] || [ -d "$ROOTFS/usr" ] || { echo "no build yet: run without --init-only" >&2; exit 1; }
mkdir -p "$OUT" "$DEBS"

# Modules dom0 loads (its Xen devices, the 9p shares, Linux's own backends and what the checks use)
# and modules the guest loads (Linux's frontends, a file system, the devices libxenvchan uses).
DOM0_MODULES="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_pci virtio_console 9pnet_virtio 9p
              xen-netback xen-blkback loop tun ext4 xen-netfront xen-blkfront"
GUEST_MODULES="xen-netfront xen-blkfront ext4 xenfs xen-evtchn xen-gntdev xen-gntalloc"

if [ $INIT_ONLY = 0 ]; then
    # 1. host tools
    need=()
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v cpio >/dev/null || need+=(cpio)
    command -v depmod >/dev/null || need+=(kmod)
    if [ ${#need[@]} -gt 0 ]; then
        log "apt-get install ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi

    # 2. the hypervisor and the kernel, downloaded and unpacked, not installed
    KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$KPKG" ] || { log "cannot resolve linux-image-amd64 (apt-get update first?)"; exit 1; }
    log "downloading xen-hypervisor-$XENVER-amd64 and $KPKG"
    (cd "$DEBS" && rm -f ./*.deb && { chown _apt "$DEBS" 2>/dev/null || true; } \
        && apt-get download -qq "xen-hypervisor-$XENVER-amd64" "$KPKG")
    rm -rf "$EXTRACT"; mkdir -p "$EXTRACT"
    for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$EXTRACT"; done
    zcat "$EXTRACT/boot/xen-$XENVER-amd64.gz" > "$OUT/xen.elf"
    cp "$EXTRACT"/boot/vmlinuz-* "$OUT/vmlinuz"
    KVER=$(ls "$EXTRACT/lib/modules")
    log "kernel $KVER"

    # 3. dom0's root file system; .NET's own files come from the host over 9p, its libraries from here
    INCLUDE="xen-utils-$XENVER,xenstore-utils,kmod,procps,psmisc,iproute2,iputils-ping,less,strace"
    INCLUDE="$INCLUDE,busybox-static,e2fsprogs,util-linux,cpio,python3-minimal"
    INCLUDE="$INCLUDE,libicu72,libssl3,zlib1g,libstdc++6,libgcc-s1,ca-certificates,tzdata"
    # a real VNC client for the framebuffer checks (it writes JPEG; djpeg turns that into pixels to compare)
    INCLUDE="$INCLUDE,vncsnapshot,libjpeg-turbo-progs"
    rm -rf "$ROOTFS"
    log "debootstrap $SUITE minbase into $ROOTFS"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" > "$W/build/debootstrap.log" 2>&1 \
        || { tail -20 "$W/build/debootstrap.log"; exit 1; }

    # only the kernel modules named above, with what they depend on
    MS=$EXTRACT/lib/modules/$KVER
    MD=$ROOTFS/lib/modules/$KVER
    mkdir -p "$MD"
    cp "$MS"/modules.order "$MS"/modules.builtin* "$MD/"
    depmod -b "$EXTRACT" "$KVER"
    for m in $DOM0_MODULES $GUEST_MODULES; do
        modprobe -d "$EXTRACT" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done | sort -u | while read -r ko; do
        rel=${ko#"$EXTRACT"}
        mkdir -p "$ROOTFS$(dirname "$rel")"
        cp -a "$ko" "$ROOTFS$rel"
    done
    chroot "$ROOTFS" depmod "$KVER"

    # the guest: the same kernel, and an initramfs of busybox, its modules in load order and guest-init.sh
    rm -rf "$GUEST"; mkdir -p "$GUEST"/{bin,dev,proc,sys,tmp,run,mnt,lib/modules}
    cp "$ROOTFS/bin/busybox" "$GUEST/bin/busybox"
    for m in $GUEST_MODULES; do
        modprobe -d "$EXTRACT" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r ko; do
        cp "$ko" "$GUEST/lib/modules/"
        echo "${ko##*/}" >> "$GUEST/lib/modules/load-order"
    done

    rm -rf "$ROOTFS"/usr/share/{doc,man,info,locale,lintian} "$ROOTFS"/var/cache/apt/* \
           "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* "$ROOTFS"/usr/lib/udev/hwdb.bin
    mkdir -p "$ROOTFS"/var/log/xen "$ROOTFS"/host "$ROOTFS"/usr/share/dotnet "$ROOTFS"/usr/share/xen-vm/guest
    echo xen-dom0 > "$ROOTFS/etc/hostname"
    ln -sf /usr/share/dotnet/dotnet "$ROOTFS/usr/bin/dotnet"
    cp "$OUT/vmlinuz" "$ROOTFS/usr/share/xen-vm/guest/vmlinuz"
    rm -rf "$EXTRACT"
fi

# 4. the init scripts, then the two archives
install -m 755 "$HERE/dom0-init.sh" "$ROOTFS/init"
install -m 755 "$HERE/guest.sh" "$ROOTFS/usr/local/bin/guest.sh"
install -m 755 "$HERE/guest-init.sh" "$GUEST/init"
log "packing the guest's initramfs"
(cd "$GUEST" && find . | cpio -o -H newc --quiet) > "$ROOTFS/usr/share/xen-vm/guest/initrd.cpio"
log "packing dom0's initramfs"
(cd "$ROOTFS" && find . -xdev | cpio -o -H newc --quiet) > "$OUT/initrd.cpio.tmp"
mv "$OUT/initrd.cpio.tmp" "$OUT/initrd.cpio"
"$HERE/image-stamp.sh" > "$OUT/stamp"
ls -la "$OUT" >&2
log "done"
