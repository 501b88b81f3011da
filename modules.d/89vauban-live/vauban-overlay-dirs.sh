#!/bin/sh
# dracut 059 creates the overlay's upper and work folders only in its mount
# hook; a sysroot.mount started earlier would fail without them.
mkdir -p /run/overlayfs /run/ovlwork
