#!/usr/bin/env bash
# Installs the real agent CLIs the tests drive (pinned) under target/agent-clis and prints their
# bin directory. A cache: when the pinned versions are there already it does nothing.
# Usage: export ZEN_AGENT_CLIS="$(bash scripts/agent-clis.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=target/agent-clis
pins=(@anthropic-ai/claude-code@2.1.197 @google/gemini-cli@0.61.0 @openai/codex@0.171.0
  @zed-industries/claude-code-acp@0.16.2)
stamp="$prefix/.installed"

if [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  if ! command -v npm >/dev/null; then
    echo "agent-clis: npm not found; the tests against the real CLIs will be skipped" >&2
    exit 0
  fi
  mkdir -p "$prefix"
  if ! npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --save-exact "${pins[@]}" >&2; then
    echo "agent-clis: WARNING: npm install failed; the tests against the real CLIs will be skipped" >&2
    exit 0
  fi
  echo "${pins[*]}" >"$stamp"
fi
echo "$PWD/$prefix/node_modules/.bin"
