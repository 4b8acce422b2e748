#!/usr/bin/env bash
# Runs every test (Deno tests; they drive the Python/TensorFlow checks and notebooks themselves)
# and ends with the plain closing line "N passed, N failed" that CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
# wgpu (WebGPU under Deno) complains on stderr when there is no runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"; mkdir -p -m 700 "$XDG_RUNTIME_DIR"
# Format, lint, types of every file and the import rules first; each failed check counts as a failure.
bash scripts/static_checks.sh
static_failed=$?
log=$(mktemp)
deno test -A --parallel "${@:-tests/}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Deno's summary: "ok | 12 passed (3 steps) | 0 failed (2s)" or "FAILED | 2 passed | 1 failed (44ms)"
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
rm -f "$log"
if [ -z "$summary" ]; then echo "0 passed, 1 failed"; exit 1; fi
failed=$((failed + static_failed))
echo "${passed} passed, ${failed} failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
