#!/usr/bin/env bash
# Installs the Debian 12 packages pooldns needs to build, test and demo, only
# the ones missing (no apt-get at all when everything is present). Sourced by
# tools/demo.sh and tools/test.sh (and the `bench` set by tools/bench/vip-bench.sh);
# usable alone: tools/deps.sh [build|test|bench]
set -euo pipefail

pooldns_packages() {
  local build=(g++ cmake make pkg-config libldns-dev libuv1-dev libsqlite3-dev libfmt-dev doctest-dev libssl-dev openssl sqlite3 ldnsutils python3)
  local test=(clang libclang-rt-14-dev knot knot-dnsutils nsd python3 curl)
  local bench=(haproxy wrk openssl python3)  # tools/bench/vip-bench.sh: the peer proxy, the load generator, its helpers
  case "${1:-build}" in
    build) echo "${build[@]}" ;;
    test) echo "${build[@]}" "${test[@]}" ;;
    bench) echo "${build[@]}" "${bench[@]}" ;;
    *) echo "deps.sh: unknown set '$1' (build|test|bench)" >&2; return 2 ;;
  esac
}

pooldns_install_missing() {
  local missing=()
  for p in $(pooldns_packages "${1:-build}"); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "deps: installing ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Package lists may be absent on a fresh machine: update once, then install.
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  pooldns_install_missing "${1:-build}"
fi
