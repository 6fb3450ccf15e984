#!/usr/bin/env bash
# `make run`: Neovim with the plugin from this checkout, on top of the user's own config.
# The user's config loads untouched (their setup() stays); setup() with the defaults is called
# only if it did not. Extra arguments go to Neovim. The Neovim is $ZEN_NVIM, else `nvim` on
# PATH, else the newest of the test Neovims (installed as `make test` does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

nvim=${ZEN_NVIM:-$(command -v nvim || true)}
if [ -z "$nvim" ]; then
  echo "no nvim on PATH; installing the test Neovims (scripts/test-nvims.sh)..." >&2
  newest=$(bash "$root/scripts/test-nvims.sh" | tail -n1) || true
  # Debian's is on PATH even if the newer one could not be had.
  nvim=${newest:-$(command -v nvim || true)}
fi
if [ -z "$nvim" ] || [ ! -x "$nvim" ]; then
  echo "zen: could not install Neovim. Install Neovim 0.7 or newer, then run make run again." >&2
  exit 1
fi
exec "$nvim" --cmd "set rtp^=$root" \
  -c "lua if not require('zen').configured then require('zen').setup() end" "$@"
