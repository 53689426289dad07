#!/usr/bin/env bash
# Fails when generated/ does not match what `npm run generate` produces from proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent generate
if ! git diff --quiet -- generated || [ -n "$(git status --porcelain -- generated)" ]; then
  echo "generated/ is stale: run 'npm run generate' and commit the result" >&2
  git status --short -- generated >&2
  exit 1
fi
echo "generated/ is fresh"
