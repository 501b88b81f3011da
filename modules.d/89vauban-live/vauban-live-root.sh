#!/bin/sh
# Called by livenet with the downloaded root image. First its sha256, when the
# boot line pins one (vauban.rootfs.sha256=): a mismatch stops the boot here.
# vauban serves rootfs.tgz, an uncompressed tar holding rootfs.img: take the
# squashfs out of it (in RAM, then drop the tar to give that RAM back) and let
# dracut's dmsquash-live-root mount it. Anything else goes to dracut's script
# unchanged.
command -v warn > /dev/null 2>&1 || . /lib/dracut-lib.sh
command -v vauban_verify > /dev/null 2>&1 || . /lib/vauban-lib.sh

image="$1"
vauban_verify "$image" vauban.rootfs.sha256 "the rootfs ($image)" || exit 1
magic=$(dd if="$image" bs=1 skip=257 count=5 2> /dev/null)
if [ "$magic" = "ustar" ]; then
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
