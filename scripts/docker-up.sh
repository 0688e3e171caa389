#!/usr/bin/env bash
# A Docker engine that answers, and every image the project runs present locally:
#   - installs Docker Engine, docker-compose and debootstrap from Debian when missing (root or passwordless sudo),
#   - starts dockerd when none answers (no systemd needed; log in /var/log/dockerd.log),
#   - scripts/standins.sh: pulls each image docker-compose.yml, services/Dockerfile and the tests use, or builds a
#     local stand-in under the same name where nothing can be pulled (reused by later runs).
# Called by scripts/test-infra.sh up (the tests' broker container) and scripts/compose-test.sh. Idempotent.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$REPO/.data/docker-up
mkdir -p "$STATE"
log() { echo "docker-up: $*" >&2; }
die() { log "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

missing=()
# An engine that already answers (Docker Desktop, docker-ce, a remote DOCKER_HOST) is used as it is.
docker info >/dev/null 2>&1 || command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt-get)"
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$STATE/apt.log" 2>&1 || { tail -n 20 "$STATE/apt.log" >&2; die "could not install ${missing[*]}"; }
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  # No systemd on these machines, and no netfilter: --iptables=false. Containers still reach each other on their
  # networks, and ports published on 127.0.0.1 work.
  # It outlives this run: it must hold none of the caller's descriptors (a CI job waits for its pipes to close).
  as_root setsid bash -c 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null
                          exec dockerd --iptables=false' </dev/null >>/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/dockerd.log >&2; die "dockerd did not start"; }
fi
"$REPO/scripts/standins.sh" || die "the images the project runs are neither pullable nor buildable (see above)"
