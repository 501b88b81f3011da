#!/bin/bash
# vauban-live: boots `root=live:<url>/rootfs.tgz live.updates=<url>/conffs-<host>.tgz`
# (the article's boot line; SPEC A15, B15).
#
# dracut's livenet downloads rootfs.tgz and hands it to dmsquash-live-root,
# which understands a squashfs but not the tar vauban serves (a tar holding
# rootfs.img). This module puts a small wrapper in front of dmsquash-live-root
# that hands it a read-only loop device on rootfs.img's bytes inside the tar
# (no copy), and turns on dracut's overlayfs mode so that the squashfs root
# gets a writable overlay on tmpfs. live.updates (the host's conffs) is fetched
# by our own hook (in place of livenet's), checked against
# vauban.conffs.sha256, and laid over the new root by our own
# apply-live-updates (in place of dmsquash-live's, which ran a process per
# path), after our hook has removed the paths the host's stages deleted.
# rootfs.tgz is checked against vauban.rootfs.sha256 before it is mounted.
# With the project's key baked in, both are checked against the release's
# SHA256SUMS, whose signature is checked first (vauban-lib.sh).
# `rootovl` puts the writable layer on a bounded tmpfs of its own.
#
# Numbered 89: dracut installs modules in name order and never overwrites a
# file already installed, so our /sbin/dmsquash-live-root, our
# initqueue/online/95-fetch-liveupdate.sh and our
# pre-pivot/20-apply-live-updates.sh come before those of 90dmsquash-live and
# 90livenet; the original dmsquash-live-root is installed beside ours under
# another name.

check() {
    # Only when asked for (add_dracutmodules in vauban's dracut.conf).
    return 255
}

depends() {
    echo livenet dmsquash-live overlayfs img-lib
    return 0
}

install() {
    inst_multiple tar gzip dd rm mkdir sha256sum chroot mount umount ln tr stat losetup
    inst_simple "$moddir/vauban-lib.sh" /lib/vauban-lib.sh
    # The project's key (B19), when chroot_dracut put it in the tree: each release's SHA256SUMS must then carry its
    # signature, checked by gpgv (Debian's apt needs gpgv: it is in every image vauban builds).
    if [ -f /etc/vauban/release-key.gpg ]; then
        inst_simple /etc/vauban/release-key.gpg
        inst_multiple gpgv
    fi
    inst_script "$moddir/vauban-live-root.sh" /sbin/dmsquash-live-root
    inst_script "$dracutbasedir/modules.d/90dmsquash-live/dmsquash-live-root.sh" /sbin/dmsquash-live-root.dracut
    # A squashfs of a whole root tree needs dracut's overlayfs mode; baked into
    # the image so that the generators see it too. `rd.live.overlay.overlayfs=0`
    # on the kernel command line still wins.
    mkdir -p "$initdir/etc/cmdline.d"
    echo "rd.live.overlay.overlayfs=1" > "$initdir/etc/cmdline.d/89-vauban-live.conf"
    inst_hook initqueue/online 95 "$moddir/fetch-liveupdate.sh"
    inst_hook pre-mount 10 "$moddir/vauban-writable-layer.sh"
    inst_hook pre-pivot 15 "$moddir/vauban-deletions.sh"
    # In place of dmsquash-live's hook of the same name: one tar pipe instead of a process per path.
    inst_hook pre-pivot 20 "$moddir/apply-live-updates.sh"
    # dash as /bin/sh when dracut.conf brings it (00bash, installed first, took /bin/sh): our hooks and dracut's are
    # POSIX sh, and dash starts and runs them faster (see dracut.conf).
    if [[ -x $initdir/bin/dash ]]; then
        ln -sf dash "$initdir/bin/sh"
    fi
}
