#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (as root, or through sudo when it asks no password).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
echo "installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get install -y -q chromium >/dev/null 2>&1 || {
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q chromium >/dev/null
}
chromium --version
