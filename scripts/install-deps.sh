#!/usr/bin/env bash
# Installs what vauban and its tests need on Debian 12, from Debian's packages
# and npm, builds vauban, and starts dockerd. Idempotent and quick when
# everything is there already. `--update` always runs apt-get update first
# (CI does); otherwise apt is only touched when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  docker.io containerd runc
  util-linux mount fdisk parted dosfstools e2fsprogs kmod file
  debootstrap debian-archive-keyring
  squashfs-tools xz-utils zstd cpio tar gzip rsync
  git python3
  openssh-client openssh-server
  gpg gpg-agent
  docker-registry apache2-utils
  qemu-system-x86 qemu-utils ipxe busybox
  xorriso isolinux
  iproute2 curl ca-certificates sudo
  zsh fish
)

if [ "$(id -u)" != 0 ]; then echo "run me as root (sudo $0)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
done
if [ "${1:-}" = "--update" ] || [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
bash test/setup/start-services.sh
