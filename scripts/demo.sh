#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, then builds
# the demo master `master-demo` with Debian bookworm debootstrapped from the
# mirror and the example Ansible repository bundled in examples/ansible.
# Everything it makes lands in .demo/ (rootfs.tgz, vault/).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/install-deps.sh

demo=$top/.demo
mkdir -p "$demo"
# The example repository as a git repository, as ANSIBLE_REPO must be.
if [ ! -d "$demo/ansible.git" ] || [ -n "$(find examples/ansible -newer "$demo/ansible.git/HEAD" -print -quit)" ]; then
  rm -rf "$demo/ansible-work" "$demo/ansible.git"
  cp -r examples/ansible "$demo/ansible-work"
  git -C "$demo/ansible-work" init -q -b master
  git -C "$demo/ansible-work" add -A
  git -C "$demo/ansible-work" -c user.name=vauban-demo -c user.email=demo@vauban.invalid commit -q -m "example Ansible content"
  git clone -q --bare "$demo/ansible-work" "$demo/ansible.git"
fi

cd "$demo"
export ANSIBLE_REPO="$demo/ansible.git"
export VAULTED_SSHD_KEYS_KEY="${VAULTED_SSHD_KEYS_KEY:-vauban-demo}"
# The example playbooks use ansible.builtin only: ansible-core is enough, and
# spares the first build the full distribution (about 45 s, 300 MB).
export ANSIBLE_PACKAGES="${ANSIBLE_PACKAGES:-ansible-core}"
node "$top/bin/vauban.js" --debian-release bookworm --name master-demo \
  --initramfs no --conffs no --upload no --compression zstd \
  pb_base.yml "$@"
echo "demo master built: $demo/rootfs.tgz (docker image master-demo)"
