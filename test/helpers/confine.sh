#!/usr/bin/env bash
# Used by confined.ts: confine.sh <writable folder>... -- <command>...
set -euo pipefail
# Always in a mount namespace of its own (it re-runs itself under unshare):
# run in the caller's namespace, it would remount the host read-only.
if [ "${VAUBAN_CONFINE_NS:-}" != "$$" ]; then
  exec unshare --mount --propagation private --fork -- bash -c 'VAUBAN_CONFINE_NS=$$ exec bash "$0" "$@"' "$0" "$@"
fi
unset VAUBAN_CONFINE_NS
writable=()
while [ "$1" != "--" ]; do writable+=("$1"); shift; done
shift
for dir in "${writable[@]}"; do mount --bind "$dir" "$dir"; done
while read -r target; do
  target=$(printf '%b' "$target")
  case "$target" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run|/run/*) continue ;; esac
  keep=0
  for dir in "${writable[@]}"; do [ "$target" = "$dir" ] && keep=1; done
  [ "$keep" = 1 ] || mount -o remount,bind,ro "$target"
done < <(findmnt -rn -o TARGET)
# The confinement itself is checked: these must not be writable any more.
for probe in / /etc /root /tmp /var/tmp /usr/local; do
  if touch "$probe/.vauban-confined-probe-$$" 2>/dev/null; then rm -f "$probe/.vauban-confined-probe-$$"; echo "confinement failed: $probe is writable" >&2; exit 99; fi
done
echo "confined: read-only except ${writable[*]}" >&2
exec "$@"
