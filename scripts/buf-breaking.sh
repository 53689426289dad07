#!/usr/bin/env bash
# The protos may not break wire or JSON compatibility with the last commit of
# main. sessions.proto is the frozen collector contract; query.proto is ours
# but has clients too.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --verify -q main >/dev/null; then
  echo "buf breaking: no main branch to compare against; skipped" >&2
  exit 0
fi
if ! git cat-file -e main:proto 2>/dev/null; then
  echo "buf breaking: main has no proto/ yet; nothing to compare" >&2
  exit 0
fi
npx --no-install buf breaking proto --against ".git#branch=main,subdir=proto"
echo "buf breaking: proto/ is compatible with main"
