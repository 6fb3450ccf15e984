#!/usr/bin/env bash
# The whole test suite: unit tests, then every integration test on each supported Neovim.
# ZEN_TEST_NVIM=/path/to/nvim runs the integration tests on that Neovim only.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${ZEN_TEST_NVIM:-}" ]; then
  nvims=("$ZEN_TEST_NVIM")
else
  mapfile -t nvims < <(bash scripts/test-nvims.sh)
fi

cargo build --release --locked
cargo test --release --locked --bins
for nvim in "${nvims[@]}"; do
  version=$("$nvim" --version | head -n1)
  echo "=== integration tests on $version ($nvim)"
  ZEN_TEST_NVIM="$nvim" ZEN_TEST_NVIM_VERSION="${version#NVIM v}" cargo test --release --locked --test '*'
done
