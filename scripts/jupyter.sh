#!/usr/bin/env bash
# `./run jupyter`: JupyterLab in the project's .venv, with the Deno kernel of this project, opened on
# notebooks/. Each step is skipped when already done, so the second run only starts the server.
#   ./run jupyter              install what is missing, then `jupyter lab notebooks/`
#   ./run jupyter --no-open    install what is missing, say what is there, start nothing
#   ./run jupyter -- ARGS...   pass ARGS to `jupyter lab` (e.g. -- --port 8899 --no-browser)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[jupyter] %s\n' "$*" >&2; }

open=1
lab_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-open) open=0 ;;
    --) shift; lab_args=("$@"); break ;;
    *) echo "Cannot start jupyter: unknown option $1 (expected --no-open or -- ARGS for jupyter lab)" >&2; exit 2 ;;
  esac
  shift
done

[ -x .venv/bin/python ] || { echo "Cannot start jupyter: no .venv (run scripts/setup.sh first)" >&2; exit 1; }
if ! .venv/bin/python -c "import jupyterlab" >/dev/null 2>&1; then
  log "pip: installing jupyterlab into .venv"
  # the index's notes on missing mirror folders are noise; real failures still end the script
  .venv/bin/pip install --retries 0 -q jupyterlab 2> >(grep -v "^WARNING: Location " >&2)
else
  log "jupyterlab $(.venv/bin/python -c 'import jupyterlab; print(jupyterlab.__version__)') already in .venv"
fi

# The kernelspec "deno" must start this project's Deno (the version deno.json and node_modules match).
deno=$(readlink -f node_modules/.bin/deno)
installed=$(.venv/bin/python - <<'EOF'
import os
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
try:
    print(os.path.realpath(KernelSpecManager().get_kernel_spec("deno").argv[0]))
except NoSuchKernel:
    print("")
EOF
)
if [ "$installed" != "$deno" ]; then
  log "registering the Deno kernel ${deno} (was: ${installed:-none})"
  "$deno" jupyter --install --force >&2
else
  log "Deno kernel already registered: $deno"
fi

if [ "$open" = 0 ]; then
  echo "ready: .venv/bin/jupyter lab notebooks/ (kernel deno -> $deno)"
  exit 0
fi
exec .venv/bin/jupyter lab notebooks/ "${lab_args[@]}"
