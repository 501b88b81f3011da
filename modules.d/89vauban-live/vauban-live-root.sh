#!/bin/sh
# Called by livenet with the downloaded root image. First its sha256, when the
# boot line pins one (vauban.rootfs.sha256=): a mismatch stops the boot here.
# (Hashing it as it arrives, curl | tee | sha256sum, was measured slower under
# QEMU's TCG: 15 s for download and sum instead of 7.5 + 5.)
# vauban serves rootfs.tgz, an uncompressed tar holding rootfs.img: the
# squashfs is the tar's first member, stored as is right after its header, so a
# read-only loop device on those bytes is the squashfs, with no copy (the copy
# took 5 s of a boot under QEMU's TCG for a 300 MB rootfs, and twice its size
# in RAM while it ran). A tar laid out otherwise (another tool, a header of
# extended attributes) gets rootfs.img taken out of it, as before (in RAM, then
# the tar dropped to give that RAM back). dracut's dmsquash-live-root mounts
# the squashfs either way. Anything else goes to dracut's script unchanged.
command -v warn > /dev/null 2>&1 || . /lib/dracut-lib.sh
command -v vauban_verify > /dev/null 2>&1 || . /lib/vauban-lib.sh

image="$1"
root_url=$(getarg root=)
vauban_verify "$image" vauban.rootfs.sha256 "the rootfs ($image)" "${root_url##*/}" || exit 1
magic=$(dd if="$image" bs=1 skip=257 count=5 2> /dev/null)
if [ "$magic" = "ustar" ]; then
    if size=$(vauban_tar_first_member "$image" rootfs.img) \
        && loop=$(losetup --find --show --read-only --offset 512 --sizelimit "$size" "$image"); then
        echo "vauban-live: rootfs.img mounted in place from $image ($loop, $size bytes)" > /dev/kmsg
        exec /sbin/dmsquash-live-root.dracut "$loop"
    fi
    dir=/tmp/vauban-live
    mkdir -p "$dir"
    echo "vauban-live: extracting rootfs.img from $image" > /dev/kmsg
    if ! tar -x -f "$image" -C "$dir" rootfs.img; then
        die "vauban-live: $image holds no rootfs.img"
    fi
    rm -f "$image"
    image="$dir/rootfs.img"
fi
exec /sbin/dmsquash-live-root.dracut "$image"
