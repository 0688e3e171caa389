#!/usr/bin/env bash
# Makes sure every image docker-compose.yml and the services' Dockerfile name is present locally, so that the
# production files run unchanged on a machine that cannot reach a registry:
#
#   scripts/standins.sh            for each image: present → kept; `docker pull` works → the real image;
#                                  otherwise a local stand-in is built under the same name (scripts/standins/*)
#   scripts/standins.sh --list     which images are stand-ins on this machine
#   scripts/standins.sh --rebuild  build the stand-ins again (after changing scripts/standins/)
#   scripts/standins.sh --refresh  try to pull the real image over each stand-in (once a registry is reachable)
#   scripts/standins.sh --remove   delete the stand-ins (their names then refer to nothing until pulled)
#
# A stand-in holds the real image's name on this machine's engine until --refresh or --remove: anything else run on
# this engine (another project's compose file) gets the stand-in for that name too. Each run names them.
# Stand-ins are labelled agents-micro.standin=true. On a machine with registry access nothing is built: the real
# images are pulled. Needs a running Docker engine, debootstrap (the Debian base) and the .NET SDK (copied into the
# .NET images; the dashboard comes from the NuGet package Aspire.Dashboard.Sdk.linux-x64).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$REPO/scripts/standins
WORK=${AGENTS_STANDIN_WORK:-/tmp/agents-standins}
ASPIRE_VERSION=13.6.5
export DOCKER_BUILDKIT=0   # the classic builder: BuildKit would try to reach the registry for base-image metadata

# image name → the stand-in recipe that makes it (in build order: each may use the ones before it).
BASE=debian:bookworm-slim
IMAGES=(
  "$BASE|base"
  "mcr.microsoft.com/dotnet/aspnet:10.0|dotnet-aspnet"
  "mcr.microsoft.com/dotnet/sdk:10.0|dotnet-sdk"
  "rabbitmq:3-management|rabbitmq"
  "postgres:15|postgres"
  "minio/minio:latest|minio"
  "minio/mc:latest|mc"
  "mcr.microsoft.com/dotnet/aspire-dashboard:13|aspire-dashboard"
)

log() { echo "standins: $*" >&2; }
die() { log "$*"; exit 1; }
present() { docker image inspect "$1" >/dev/null 2>&1; }
is_standin() { [ "$(docker image inspect -f '{{index .Config.Labels "agents-micro.standin"}}' "$1" 2>/dev/null)" = true ]; }

# The Debian mirror apt uses on this machine (deb822 sources first, then sources.list).
debian_mirror() {
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n 1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

build_base() {
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  local root=$WORK/rootfs
  rm -rf "$root"; mkdir -p "$WORK"
  log "debootstrap bookworm (minbase) from $(debian_mirror)"
  debootstrap --variant=minbase bookworm "$root" "$(debian_mirror)" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  # apt inside the images uses the machine's own sources.
  if compgen -G '/etc/apt/sources.list.d/debian*.sources' >/dev/null; then
    rm -f "$root/etc/apt/sources.list"; cp /etc/apt/sources.list.d/debian*.sources "$root/etc/apt/sources.list.d/"
  fi
  # What makes Debian's official image "slim": no package caches, manuals or translations in layers.
  cp "$HERE/base/apt-docker-clean" "$root/etc/apt/apt.conf.d/docker-clean"
  cp "$HERE/base/dpkg-slim" "$root/etc/dpkg/dpkg.cfg.d/docker"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' --change 'LABEL agents-micro.standin=true' - "$BASE" >/dev/null
  rm -rf "$root"
}

# Copies what a stand-in's Dockerfile needs next to it, in a fresh build context.
context() {
  local recipe=$1 ctx=$WORK/ctx-$1
  rm -rf "$ctx"; mkdir -p "$ctx"; cp -a "$HERE/$recipe/." "$ctx/"
  local dotnet_root
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  case $recipe in
    dotnet-aspnet)
      mkdir -p "$ctx/dotnet"
      cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$ctx/dotnet/"
      cp -a "$dotnet_root"/LICENSE.txt "$dotnet_root"/ThirdPartyNotices.txt "$ctx/dotnet/" 2>/dev/null || true ;;
    dotnet-sdk)
      cp -a "$dotnet_root" "$ctx/dotnet"
      # The authorities this machine trusts beyond Debian's own (a proxy's, a company's): restores need them.
      mkdir -p "$ctx/ca"; cp -a /usr/local/share/ca-certificates/. "$ctx/ca/" 2>/dev/null || true ;;
    minio)
      cp "$REPO/scripts/ceph-s3-up.sh" "$ctx/" ;;
    aspire-dashboard)
      local dl=$WORK/aspire-download
      mkdir -p "$dl"
      cat > "$dl/download.csproj" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Aspire.Dashboard.Sdk.linux-x64" Version="[$ASPIRE_VERSION]" /></ItemGroup>
</Project>
PROJ
      log "downloading Aspire.Dashboard.Sdk.linux-x64 $ASPIRE_VERSION from NuGet"
      dotnet restore "$dl/download.csproj" --packages "$dl/packages" -v:q >"$WORK/aspire-restore.log" 2>&1 \
        || { tail -n 20 "$WORK/aspire-restore.log" >&2; die "could not download the Aspire Dashboard package"; }
      cp -a "$dl/packages/aspire.dashboard.sdk.linux-x64/$ASPIRE_VERSION/tools" "$ctx/dashboard" ;;
  esac
  echo "$ctx"
}

build_standin() {
  local image=$1 recipe=$2 ctx args=()
  if [ "$recipe" = base ]; then build_base; return; fi
  ctx=$(context "$recipe")
  if [ "$recipe" = dotnet-sdk ] && [ -n "${NUGET_CERT_REVOCATION_MODE:-}" ]; then
    args+=(--build-arg "NUGET_CERT_REVOCATION_MODE=$NUGET_CERT_REVOCATION_MODE")
  fi
  docker build --network host --label agents-micro.standin=true "${args[@]}" -t "$image" "$ctx" >"$WORK/build-$recipe.log" 2>&1 \
    || { tail -n 30 "$WORK/build-$recipe.log" >&2; die "building the stand-in for $image failed (log: $WORK/build-$recipe.log)"; }
  rm -rf "$ctx"
}

case "${1:-}" in
  --list)
    for entry in "${IMAGES[@]}"; do
      image=${entry%%|*}
      if ! present "$image"; then echo "$image  missing"
      elif is_standin "$image"; then echo "$image  stand-in ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
      else echo "$image  real"; fi
    done
    exit 0 ;;
  --rebuild) REBUILD=1 ;;
  --refresh|--remove)
    for entry in "${IMAGES[@]}"; do
      image=${entry%%|*}
      is_standin "$image" || continue
      if [ "$1" = --remove ]; then docker image rm "$image" >/dev/null && log "$image: stand-in removed"
      elif timeout 300 docker pull -q "$image" >/dev/null 2>&1; then log "$image: the real image replaces the stand-in"
      else log "$image: still cannot be pulled; the stand-in stays"; fi
    done
    exit 0 ;;
  "") REBUILD=0 ;;
  *) die "unknown argument $1 (use --list, --rebuild, --refresh or --remove)" ;;
esac

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info)"
mkdir -p "$WORK"
for entry in "${IMAGES[@]}"; do
  image=${entry%%|*} recipe=${entry#*|}
  if present "$image" && ! { [ "$REBUILD" = 1 ] && is_standin "$image"; }; then continue; fi
  if [ "$REBUILD" = 0 ] && timeout 300 docker pull -q "$image" >/dev/null 2>&1; then log "$image: pulled"; continue; fi
  t0=$(date +%s)
  log "$image: cannot be pulled, building a stand-in (scripts/standins/$recipe)"
  build_standin "$image" "$recipe"
  log "$image: stand-in built in $(( $(date +%s) - t0 ))s"
done
standins=$(for entry in "${IMAGES[@]}"; do is_standin "${entry%%|*}" && echo -n " ${entry%%|*}"; done)
[ -z "$standins" ] || log "local stand-ins in use:$standins (scripts/standins.sh --refresh pulls the real ones once a registry is reachable)"
