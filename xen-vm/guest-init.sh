#!/bin/busybox sh
# guest-init.sh: PID 1 of the Linux PV guest that guest.sh boots in dom0. Loads Linux's frontends,
# runs /script (guest.sh appends it to the initramfs) with its output on the console, then prints
# "GUEST-EXIT <status>" and powers off. guest.sh reads the console's log in dom0.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm && mount -t tmpfs tmpfs /dev/shm
ip link set lo up
hostname guest
exec > /dev/hvc0 2>&1
for ko in $(cat /lib/modules/load-order); do insmod "/lib/modules/$ko" 2>/dev/null; done
mount -t xenfs xenfs /proc/xen 2>/dev/null
echo "GUEST-READY $(cut -d' ' -f1 /proc/uptime)"
if [ -f /script ]; then sh /script; rc=$?; else echo "no /script"; rc=127; fi
echo "GUEST-EXIT $rc"
sync
# xenconsoled reads the console ring on its own time; let it take the last lines before the domain goes.
sleep 1
poweroff -f
