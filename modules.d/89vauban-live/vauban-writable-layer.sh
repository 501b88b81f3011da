#!/bin/sh
# vauban-live, pre-mount: the root's writable layer. In dracut's overlayfs
# mode /sysroot is an overlay whose upper and work folders are /run/overlayfs
# and /run/ovlwork; dracut 059 makes them only in its mount hook, too late for
# a sysroot.mount started earlier: they are made here.
#
# `rootovl[=<size>]` (on the article's boot line) puts that layer on a tmpfs of
# its own instead of the initramfs' /run: bounded by <size> (as tmpfs reads it:
# 2g, 512m, 25%; 50% of the RAM by default), so that a host filling / never
# fills /run (systemd's runtime state), nor the other way round. The tmpfs is
# mounted at /run/vauban/rw, where the booted host sees it (systemd moves /run
# with what is mounted in it). Without rootovl the layer lives in /run.
type getargbool > /dev/null 2>&1 || . /lib/dracut-lib.sh

# A persistent overlay set up by dmsquash-live-root already made /run/overlayfs: it wins.
if getargbool 0 rootovl && [ ! -e /run/overlayfs ]; then
    size=$(getarg rootovl=)
    case "$size" in
        "" | *[!0-9kKmMgG%]* | [!0-9]* | *[0-9]) size=50% ;;
    esac
    mkdir -p /run/vauban/rw
    if mount -t tmpfs -o "mode=0755,size=$size" vauban-rw /run/vauban/rw; then
        mkdir -p /run/vauban/rw/upper /run/vauban/rw/work
        # Links, not bind mounts: overlayfs wants upper and work on one mount.
        ln -s vauban/rw/upper /run/overlayfs
        ln -s vauban/rw/work /run/ovlwork
        echo "vauban-live: rootovl: the writable layer is a tmpfs of $size at /run/vauban/rw" > /dev/kmsg
    else
        warn "vauban-live: rootovl: no tmpfs of $size could be mounted; the writable layer stays in /run"
    fi
fi
mkdir -p /run/overlayfs /run/ovlwork
