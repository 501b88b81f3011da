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
