#!/bin/sh
# vauban-live: the integrity check of each download (B15), sourced by our
# hooks once dracut-lib.sh is.
#
# vauban_verify FILE PARAMETER WHAT
#   When the kernel command line has PARAMETER=<sha256> (the entries vauban
#   generates have vauban.rootfs.sha256= and vauban.conffs.sha256=), FILE must
#   have that sha256, or the boot stops here with the reason on the console.
#   Without the parameter nothing is checked (the article's own boot line).
#   What was checked is kept in /run/vauban/integrity.
vauban_verify() {
    _vauban_expected=$(getarg "$2=")
    [ -n "$_vauban_expected" ] || return 0
    _vauban_got=$(sha256sum "$1" 2> /dev/null)
    _vauban_got=${_vauban_got%% *}
    mkdir -p /run/vauban
    if [ "$_vauban_got" = "$_vauban_expected" ]; then
        echo "$2=ok" >> /run/vauban/integrity
        echo "vauban-live: $3: sha256 $_vauban_got as the boot line expects" > /dev/kmsg
        return 0
    fi
    echo "$2=FAILED" >> /run/vauban/integrity
    _vauban_message="vauban-live: INTEGRITY CHECK FAILED: $3 has sha256 ${_vauban_got:-(unreadable)}, the boot line expects $_vauban_expected: refusing to boot it"
    echo "$_vauban_message" > /dev/console 2> /dev/null
    die "$_vauban_message"
    return 1
}
