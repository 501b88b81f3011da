#!/usr/bin/env bash
# Starts the services the integration tests need, when they are not running:
# dockerd (Debian's docker.io). Idempotent: safe to run again and again.
set -euo pipefail

log_dir=/var/log/vauban-test
mkdir -p "$log_dir"

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! docker_answers; then
  echo "starting dockerd (log: $log_dir/dockerd.log)"
  # containerd is started by dockerd itself when it is not running.
  setsid nohup dockerd >>"$log_dir/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker_answers && break
    sleep 1
  done
fi
docker_answers || { echo "dockerd did not come up; see $log_dir/dockerd.log" >&2; exit 1; }
echo "dockerd $(docker version --format '{{.Server.Version}}') answers"

# A second Docker engine, as a remote one would be for vauban: reached over
# its socket and over TCP on loopback (DOCKER_HOST=tcp://127.0.0.1:23750), its
# data root in a mount namespace of its own (the files live in a folder only
# root can enter; the engine sees them at /var/lib/vauban-test-docker2, which
# is an empty folder everywhere else), so that nothing reaches its images but
# the Engine API. A bridge of its own and no iptables: it must not touch the
# first one's (with --bridge none, dockerd deletes docker0 at start).
engine2_socket=/run/vauban-test/docker2.sock
engine2_tcp=127.0.0.1:23750
engine2_root=/var/lib/vauban-test-docker2
engine2_store=/var/lib/vauban-test-docker2.store
engine2_bridge=vauban-d2
if ! ip link show "$engine2_bridge" >/dev/null 2>&1; then
  ip link add "$engine2_bridge" type bridge
  ip addr add 172.31.254.1/24 dev "$engine2_bridge"
  ip link set "$engine2_bridge" up
fi
engine2_answers() {
  DOCKER_HOST=unix://$engine2_socket docker version --format '{{.Server.Version}}' >/dev/null 2>&1 &&
    DOCKER_HOST=tcp://$engine2_tcp docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}
if ! engine2_answers; then
  # One of an earlier set-up (socket only, its data root seen by all): stopped, its files let go.
  if [ -s /run/vauban-test/docker2.pid ] && kill "$(cat /run/vauban-test/docker2.pid)" 2>/dev/null; then
    for _ in $(seq 1 30); do [ -e /run/vauban-test/docker2.pid ] || break; sleep 1; done
  fi
  if mountpoint -q "$engine2_root"; then umount "$engine2_root"; fi
  [ -d "$engine2_store" ] || rm -rf "$engine2_root"
  mkdir -p /run/vauban-test "$engine2_root" "$engine2_store"
  chmod 0700 "$engine2_store"
  echo "starting a second dockerd on $engine2_socket and tcp://$engine2_tcp, in a mount namespace of its own (log: $log_dir/dockerd2.log)"
  setsid nohup unshare --mount --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec dockerd "$@"' sh "$engine2_store" "$engine2_root" \
    --host "unix://$engine2_socket" --host "tcp://$engine2_tcp" --data-root "$engine2_root" \
    --exec-root /run/vauban-test/docker2 --pidfile /run/vauban-test/docker2.pid \
    --bridge "$engine2_bridge" --iptables=false --ip-masq=false >>"$log_dir/dockerd2.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine2_answers && break
    sleep 1
  done
fi
engine2_answers || { echo "the second dockerd did not come up; see $log_dir/dockerd2.log" >&2; exit 1; }
