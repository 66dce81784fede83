#!/usr/bin/env bash
# Installs Debian's chromium and a Chinese font for the browser tests (as root, or through sudo
# when it asks no password). Without a CJK font, screenshots show boxes instead of Chinese.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
packages=(chromium fonts-wqy-microhei)
echo "installing ${packages[*]} for the browser tests"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 || {
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q "${packages[@]}" >/dev/null
}
chromium --version
