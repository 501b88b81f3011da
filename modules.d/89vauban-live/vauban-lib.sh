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

# vauban_tar_first_member TAR NAME
#   Prints the size of TAR's first member when it is the regular file NAME
#   stored right after one plain ustar/GNU header (its bytes are TAR's from
#   offset 512 on), as vauban's build_rootfs writes rootfs.tgz; fails
#   otherwise (another layout, a size in base-256 past 8 GiB, a short file).
vauban_tar_first_member() {
    [ "$(vauban_tar_field "$1" 0 100)" = "$2" ] || return 1
    # The ustar prefix of the name: empty, or the name is not NAME.
    [ -z "$(vauban_tar_field "$1" 345 155)" ] || return 1
    case "$(vauban_tar_field "$1" 156 1)" in
        "" | 0) ;;
        *) return 1 ;;
    esac
    _vauban_size=$(vauban_tar_field "$1" 124 12 | tr -d ' ')
    case "$_vauban_size" in
        "" | *[!0-7]*) return 1 ;;
    esac
    _vauban_size=$((0$_vauban_size))
    [ "$(stat -c %s "$1")" -ge $((512 + _vauban_size)) ] || return 1
    echo "$_vauban_size"
}

# vauban_tar_field TAR OFFSET LENGTH: a field of TAR's first header, NULs dropped.
vauban_tar_field() {
    dd if="$1" bs=1 skip="$2" count="$3" 2> /dev/null | tr -d '\000'
}
