#!/usr/bin/env bash
# Installs Debian packages the tests need (as root, or through sudo when it asks no password):
#   browser tests: chromium and a Chinese font (without one, screenshots show boxes instead of Chinese);
#   the cluster: nginx.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
echo "installing $* from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get install -y -q "$@" >/dev/null 2>&1 || {
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q "$@" >/dev/null
}
