// A tiny Docker image made of the build host's own sh, tar, sleep, find and touch with
// their libraries: enough for vauban to tag it, pack it as a rootfs and run a
// conffs container of it (no systemd: a sleeper is PID 1), in seconds and
// without importing a base (~60 s with Dockerfile.base). For runs with no
// stage: there is no Ansible in it (a stand-in lists the hosts of a plain
// pattern). Its /imginfo names it.
import path from 'node:path';
import { bash } from './sh.js';

export async function makeMiniImage(tag: string, dir: string): Promise<void> {
  const root = path.join(dir, 'mini-root');
  await bash(
    `root=$1
mkdir -p "$root"/usr/bin "$root"/usr/lib "$root"/usr/lib64 "$root"/etc "$root"/tmp "$root"/root "$root"/run "$root"/proc "$root"/sys "$root"/dev
# Debian 12's merged /usr, as in the image vauban builds.
ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
copy() { mkdir -p "$root$(dirname "$1")"; cp -a "$1" "$root$1"; }
# find and touch: a conffs host's changes are read with them, as in any Debian image (findutils is essential).
for program in /usr/bin/sh /usr/bin/dash /usr/bin/tar /usr/bin/sleep /usr/bin/cat /usr/bin/find /usr/bin/touch; do
  for file in "$program" $(ldd "$program" | grep -o '/[^ ]*'); do
    # Through /usr, as the links of the image lead (ldd names /lib64/ld-linux-x86-64.so.2).
    file=$(printf '%s' "$file" | sed -E 's#^/(bin|lib|lib64)/#/usr/\\1/#')
    copy "$file"
    real=$(readlink -f "$file")
    [ "$real" = "$file" ] || copy "$real"
  done
done
printf 'root:x:0:0:root:/root:/bin/sh\\n' > "$root/etc/passwd"
printf 'root:x:0:\\n' > "$root/etc/group"
printf 'iso: vauban-test-mini\\n' > "$root/imginfo"
# What it is, as Debian says it: its os-release, and dpkg's records of the packages its programs come from.
cp /etc/debian_version "$root/etc/"; cp /usr/lib/os-release "$root/usr/lib/"; ln -s ../usr/lib/os-release "$root/etc/os-release"
mkdir -p "$root/var/lib/dpkg"
awk -v RS= -v ORS='\\n\\n' '/^Package: (dash|tar|coreutils|libc6)\\n/' /var/lib/dpkg/status > "$root/var/lib/dpkg/status"
# No Python here: a stand-in for \`ansible <pattern> --list-hosts\` (vauban resolves the conffs hosts in the
# source image) that lists the pattern's plain names as Ansible would, the ! exclusions left out.
cat > "$root/usr/bin/ansible" <<'STANDIN'
#!/bin/sh
count=0 list=
IFS=,
for name in $1; do
  case $name in '!'*) continue ;; esac
  count=$((count + 1)) list="$list    $name
"
done
printf '  hosts (%d):\\n%s' "$count" "$list"
STANDIN
# and for \`ansible-inventory --list\`: no host variables (no vauban_mac).
cat > "$root/usr/bin/ansible-inventory" <<'STANDIN'
#!/bin/sh
echo '{"_meta": {"hostvars": {}}}'
STANDIN
chmod 755 "$root/usr/bin/ansible" "$root/usr/bin/ansible-inventory"
tar --create --numeric-owner --directory="$root" . | docker import --message 'vauban test mini image' - "$2" >/dev/null`,
    { args: [root, tag] },
  );
}
