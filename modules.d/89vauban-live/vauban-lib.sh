#!/bin/sh
# vauban-live: the integrity check of each download (B15, B19), sourced by our
# hooks once dracut-lib.sh is.

# The project's key, when chroot_dracut baked one in (B19): every download is
# then checked against the release's SHA256SUMS, which must carry the
# project's signature (SHA256SUMS.sig, checked by gpgv) before anything of it
# is believed. The boot line's pins must agree with it.
VAUBAN_RELEASE_KEY=/etc/vauban/release-key.gpg

# vauban_verify FILE PARAMETER WHAT MEMBER
#   FILE (the release's MEMBER, downloaded) must have the sha256 the signed
#   SHA256SUMS lists for MEMBER (with the project's key), and the one the
#   kernel command line pins as PARAMETER=<sha256> (the entries vauban
#   generates have vauban.rootfs.sha256= and vauban.conffs.sha256=), or the
#   boot stops here with the reason on the console. Without a key and without
#   the parameter nothing is checked (the article's own boot line). What was
#   checked is kept in /run/vauban/integrity.
vauban_verify() {
    _vauban_expected=$(getarg "$2=")
    mkdir -p /run/vauban
    if [ -f "$VAUBAN_RELEASE_KEY" ]; then
        vauban_signed_sums || return 1
        _vauban_signed=$(vauban_signed_sum "$4")
        if [ -z "$_vauban_signed" ]; then
            echo "$2=FAILED" >> /run/vauban/integrity
            vauban_refuse "INTEGRITY CHECK FAILED: $3 is not in the release's signed SHA256SUMS: refusing to boot it"
            return 1
        fi
        if [ -n "$_vauban_expected" ] && [ "$_vauban_expected" != "$_vauban_signed" ]; then
            echo "$2=FAILED" >> /run/vauban/integrity
            vauban_refuse "INTEGRITY CHECK FAILED: the boot line pins $3 to sha256 $_vauban_expected, the release's signed SHA256SUMS says $_vauban_signed: refusing to boot it"
            return 1
        fi
        _vauban_expected=$_vauban_signed
    fi
    [ -n "$_vauban_expected" ] || return 0
    _vauban_got=$(sha256sum "$1" 2> /dev/null)
    _vauban_got=${_vauban_got%% *}
    if [ "$_vauban_got" = "$_vauban_expected" ]; then
        echo "$2=ok" >> /run/vauban/integrity
        echo "vauban-live: $3: sha256 $_vauban_got as the boot line expects" > /dev/kmsg
        return 0
    fi
    echo "$2=FAILED" >> /run/vauban/integrity
    vauban_refuse "INTEGRITY CHECK FAILED: $3 has sha256 ${_vauban_got:-(unreadable)}, the boot line expects $_vauban_expected: refusing to boot it"
    return 1
}

# vauban_signed_sums
#   Downloads the release's SHA256SUMS and SHA256SUMS.sig (beside the rootfs
#   of root=live:) once, and checks the signature with the project's key:
#   /run/vauban/SHA256SUMS.verified afterwards, else the boot stops.
vauban_signed_sums() {
    [ -f /run/vauban/SHA256SUMS.verified ] && return 0
    type fetch_url > /dev/null 2>&1 || . /lib/url-lib.sh
    _vauban_base=$(getarg root=)
    _vauban_base=${_vauban_base#live:}
    _vauban_base=${_vauban_base%/*}
    mkdir -p /run/vauban/gnupg
    chmod 700 /run/vauban/gnupg
    rm -f /run/vauban/SHA256SUMS /run/vauban/SHA256SUMS.sig
    if ! fetch_url "$_vauban_base/SHA256SUMS" /run/vauban/SHA256SUMS || ! fetch_url "$_vauban_base/SHA256SUMS.sig" /run/vauban/SHA256SUMS.sig; then
        echo "vauban.manifest=FAILED" >> /run/vauban/integrity
        vauban_refuse "INTEGRITY CHECK FAILED: cannot download $_vauban_base/SHA256SUMS and SHA256SUMS.sig, which the project's key must sign: refusing to boot"
        return 1
    fi
    if ! gpgv --homedir /run/vauban/gnupg --keyring "$VAUBAN_RELEASE_KEY" /run/vauban/SHA256SUMS.sig /run/vauban/SHA256SUMS > /run/vauban/gpgv.log 2>&1; then
        echo "vauban.manifest=FAILED" >> /run/vauban/integrity
        vauban_refuse "INTEGRITY CHECK FAILED: $_vauban_base/SHA256SUMS does not carry the project's signature: refusing to boot it"
        return 1
    fi
    mv /run/vauban/SHA256SUMS /run/vauban/SHA256SUMS.verified
    echo "vauban.manifest=ok" >> /run/vauban/integrity
    echo "vauban-live: $_vauban_base/SHA256SUMS: signed with the project's key" > /dev/kmsg
    return 0
}

# vauban_signed_sum MEMBER: MEMBER's sha256 in the verified SHA256SUMS (empty when it is not listed).
vauban_signed_sum() {
    while read -r _vauban_sum _vauban_name; do
        _vauban_name=${_vauban_name#\*}
        if [ "$_vauban_name" = "$1" ]; then
            echo "$_vauban_sum"
            return 0
        fi
    done < /run/vauban/SHA256SUMS.verified
}

# vauban_refuse MESSAGE: the boot stops, MESSAGE on the console.
vauban_refuse() {
    _vauban_message="vauban-live: $1"
    echo "$_vauban_message" > /dev/console 2> /dev/null
    die "$_vauban_message"
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
