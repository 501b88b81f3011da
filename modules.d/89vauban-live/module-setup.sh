#!/bin/bash
# vauban-live: boots `root=live:<url>/rootfs.tgz live.updates=<url>/conffs-<host>.tgz`.
#
# dracut's livenet downloads rootfs.tgz and hands it to dmsquash-live-root,
# which understands a squashfs but not the tar vauban serves (a tar holding
# rootfs.img). This module puts a small wrapper in front of dmsquash-live-root
# that takes rootfs.img out of the tar, and turns on dracut's overlayfs mode so
# that the squashfs root gets a writable overlay on tmpfs. live.updates (the
# host's conffs) is then laid over the new root by dracut's own
# apply-live-updates hook.
#
# Numbered 89: dracut installs modules in name order and never overwrites a
# file already installed, so our /sbin/dmsquash-live-root must come before
# 90dmsquash-live's; the original is installed beside it under another name.

check() {
    # Only when asked for (add_dracutmodules in vauban's dracut.conf).
    return 255
}

depends() {
    echo livenet dmsquash-live overlayfs img-lib
    return 0
}

install() {
    inst_multiple tar dd rm mkdir
    inst_script "$moddir/vauban-live-root.sh" /sbin/dmsquash-live-root
    inst_script "$dracutbasedir/modules.d/90dmsquash-live/dmsquash-live-root.sh" /sbin/dmsquash-live-root.dracut
    # A squashfs of a whole root tree needs dracut's overlayfs mode; baked into
    # the image so that the generators see it too. `rd.live.overlay.overlayfs=0`
    # on the kernel command line still wins.
    mkdir -p "$initdir/etc/cmdline.d"
    echo "rd.live.overlay.overlayfs=1" > "$initdir/etc/cmdline.d/89-vauban-live.conf"
    inst_hook pre-mount 10 "$moddir/vauban-overlay-dirs.sh"
}
