#!/usr/bin/env bash
# actions/cache stand-in for act runs: report a miss for INPUT_KEY, restore nothing.
set -euo pipefail
echo "actions/cache stand-in: restores and saves nothing under act; cache miss for key: ${INPUT_KEY}"
echo "cache-hit=false" >> "$GITHUB_OUTPUT"
echo "cache-primary-key=${INPUT_KEY}" >> "$GITHUB_OUTPUT"
echo "cache-matched-key=" >> "$GITHUB_OUTPUT"
if [ "${INPUT_FAIL_ON_CACHE_MISS}" = "true" ]; then
  echo "::error title=actions/cache stand-in::Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${INPUT_KEY}"
  exit 1
fi
