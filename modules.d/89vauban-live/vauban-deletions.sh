#!/bin/sh
# vauban-live, pre-pivot 15: removes from the new root what the host's stages
# deleted (a tar cannot carry a deletion: the conffs lists them in
# .vauban-conffs/deleted, one path a line, relative to /), before dracut's
# apply-live-updates (pre-pivot 20) lays the conffs over the root and before
# systemd starts. The list itself never reaches the root.
list=/updates/.vauban-conffs/deleted
[ -f "$list" ] || return 0
type info > /dev/null 2>&1 || . /lib/dracut-lib.sh

removed=0
while IFS= read -r path || [ -n "$path" ]; do
    case "/$path/" in
        // | */../* | */./*) continue ;;
    esac
    # Inside the root (chroot): its own links are followed as the booted host
    # would follow them, never into the initramfs.
    if chroot "$NEWROOT" /bin/rm -rf -- "/$path"; then
        removed=$((removed + 1))
    else
        warn "vauban-live: could not remove /$path, which the host's stages deleted"
    fi
done < "$list"
rm -rf /updates/.vauban-conffs
mkdir -p /run/vauban
echo "$removed" > /run/vauban/deleted
echo "vauban-live: removed $removed path(s) the host's stages deleted" > /dev/kmsg
