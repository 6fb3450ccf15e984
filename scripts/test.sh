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
# The real claude, gemini and codex CLIs for tests/agents_real.rs (cached under target/).
ZEN_AGENT_CLIS="$(bash scripts/agent-clis.sh)"
export ZEN_AGENT_CLIS
cargo test --release --locked --bins
for nvim in "${nvims[@]}"; do
  version=$("$nvim" --version | head -n1)
  echo "=== integration tests on $version ($nvim)"
  ZEN_TEST_NVIM="$nvim" ZEN_TEST_NVIM_VERSION="${version#NVIM v}" cargo test --release --locked --test '*'
done
