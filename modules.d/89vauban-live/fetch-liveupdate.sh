#!/bin/sh
# vauban-live, initqueue/online: fetches live.updates (the host's conffs) once
# the network is up, checks it against vauban.conffs.sha256 before anything of
# it is unpacked, and unpacks it into /updates, which dracut's
# apply-live-updates (pre-pivot) lays over the root before systemd starts.
# Installed at the path of livenet's hook of the same name, which it replaces
# (dracut keeps the first file installed at a path, and 89 comes before 90).
[ -e /tmp/liveupdates.info ] || return 0
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
type fetch_url > /dev/null 2>&1 || . /lib/url-lib.sh
type vauban_verify > /dev/null 2>&1 || . /lib/vauban-lib.sh

read -r url < /tmp/liveupdates.info
info "vauban-live: fetching the conffs $url"
rm -f /tmp/updates.img
if ! fetch_url "$url" /tmp/updates.img; then
    warn "vauban-live: cannot download the conffs $url"
    return 1
fi
vauban_verify /tmp/updates.img vauban.conffs.sha256 "the conffs $url" "${url##*/}" || return 1
mkdir -p /updates
if ! tar -x -z -p --numeric-owner -f /tmp/updates.img -C /updates; then
    warn "vauban-live: cannot unpack the conffs $url"
    return 1
fi
rm -f /tmp/updates.img
mv /tmp/liveupdates.info /tmp/liveupdates.done
