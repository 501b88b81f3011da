#!/bin/sh
# vauban-live, pre-pivot 20: lays the host's conffs (unpacked in /updates by
# our fetch hook, the paths its stages deleted already removed by pre-pivot 15)
# over the new root before systemd starts. Installed at the path of
# dracut's apply-live-updates, which it replaces (dracut keeps the first file
# installed at a path, and 89 comes before 90): that one runs a mkdir or a cp
# per path of the conffs, about 190 processes for a small conffs, 11 s of a
# boot under QEMU's TCG. Here one tar pipe does it, unpacked by the root's own
# tar inside the root (chroot), so that the root's links are followed as the
# booted host would follow them, never into the initramfs. As dracut's did: a
# link to a folder in the root stays a link (/lib -> usr/lib), a folder the
# root has keeps its owner and mode, /run is the initramfs' /run (systemd keeps
# it). Unlike it: a folder the root lacks gets the conffs' owner and mode (not
# 0755 root), hard links stay hard links.
type info > /dev/null 2>&1 || . /lib/dracut-lib.sh

if [ -h /dev/root ] && [ -d /run/initramfs/live/updates -o -d /updates ]; then
    info "Applying updates to live image..."
    mount -o bind /run "$NEWROOT"/run
    for d in /updates /run/initramfs/live/updates; do
        [ -d "$d" ] || continue
        if tar -C "$d" -c -f - . | chroot "$NEWROOT" tar -x -p -f - -C / --numeric-owner --keep-directory-symlink --no-overwrite-dir; then
            echo "vauban-live: the conffs laid over the root ($d)" > /dev/kmsg
        else
            warn "vauban-live: $d could not be laid over the root in full (tar in the root failed)"
        fi
    done
    umount "$NEWROOT"/run
fi
# dracut's own, kept: release an iso-scan boot's resources with rd.live.ram.
if [ -d /run/initramfs/isoscan ] \
    && [ -f /run/initramfs/squashed.img -o -f /run/initramfs/rootfs.img ]; then
    umount --detach-loop /run/initramfs/live
    umount /run/initramfs/isoscan
fi
