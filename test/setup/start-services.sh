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

# A second Docker engine with its own socket, data root and exec root, for the
# test that runs conffs through DOCKER_HOST (the Engine API only, as against a
# remote engine). A bridge of its own and no iptables: it must not touch the
# first one's (with --bridge none, dockerd deletes docker0 at start).
engine2_socket=/run/vauban-test/docker2.sock
engine2_bridge=vauban-d2
if ! ip link show "$engine2_bridge" >/dev/null 2>&1; then
  ip link add "$engine2_bridge" type bridge
  ip addr add 172.31.254.1/24 dev "$engine2_bridge"
  ip link set "$engine2_bridge" up
fi
engine2_answers() { DOCKER_HOST=unix://$engine2_socket docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if ! engine2_answers; then
  echo "starting a second dockerd on $engine2_socket (log: $log_dir/dockerd2.log)"
  mkdir -p /run/vauban-test
  setsid nohup dockerd --host "unix://$engine2_socket" --data-root /var/lib/vauban-test-docker2 \
    --exec-root /run/vauban-test/docker2 --pidfile /run/vauban-test/docker2.pid \
    --bridge "$engine2_bridge" --iptables=false --ip-masq=false >>"$log_dir/dockerd2.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine2_answers && break
    sleep 1
  done
fi
engine2_answers || { echo "the second dockerd did not come up; see $log_dir/dockerd2.log" >&2; exit 1; }
