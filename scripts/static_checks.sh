#!/usr/bin/env bash
# The static checks the test command runs before the tests: formatting, lint, types of every file,
# and the import rules. Prints one line per check and exits with the number that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
deno=./node_modules/.bin/deno
failed=0
for check in "fmt --check" "lint" "check ." "run -A scripts/import_graph.ts --check"; do
  if out=$($deno $check 2>&1); then
    echo "static: deno $check: ok"
  else
    echo "static: deno $check: FAILED"
    printf '%s\n' "$out" | tail -n 40 | sed 's/^/  /'
    failed=$((failed + 1))
  fi
done
exit "$failed"
