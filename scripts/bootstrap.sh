#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs kuanxin with every version pinned (constraints.txt).
# Does nothing when .venv is already installed from the current pyproject.toml and constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  local candidate version
  for candidate in "${KUANXIN_PYTHON:-}" python3.10; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then   # pyenv's shim answers only for the selected version
    version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -V | tail -n 1 || true)
    if [ -n "$version" ] && [ -x "$(pyenv root)/versions/$version/bin/python3.10" ]; then
      echo "$(pyenv root)/versions/$version/bin/python3.10"; return 0
    fi
  fi
  for candidate in /usr/bin/python3.10 /usr/local/bin/python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

stamp_value=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
stamp=.venv/.kuanxin-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_value" ] && [ -x .venv/bin/rasa ]; then
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  python=$(find_python310) || {
    echo "kuanxin needs Python 3.10 (Rasa 3.6 installs only on 3.8-3.10): install python3.10 or set KUANXIN_PYTHON" >&2
    exit 1
  }
  echo "creating .venv with $python"
  "$python" -m venv .venv
fi
# (the grep hides pip's notes about this machine's optional local package folders)
pip_install() { .venv/bin/python -m pip install --quiet "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
pip_install --upgrade "pip==26.3" "setuptools==70.3.0" "wheel==0.45.1"
pip_install -c constraints.txt -e '.[dev]'
echo "$stamp_value" > "$stamp"
echo ".venv ready"
