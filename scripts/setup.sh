#!/usr/bin/env bash
# Idempotent set-up: npm packages (Deno itself comes from npm), Debian packages, and the
# project-local Python environment with TensorFlow for the export checks. Each step is skipped
# when already done, so `./run ...` costs nothing the second time.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/deno ] || [ package.json -nt node_modules/.package-lock.json ]; then
  log "npm: installing Deno and the JS dependencies"
  npm install --no-audit --no-fund --loglevel=error >&2
fi

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
command -v jupyter-nbconvert >/dev/null || need_apt+=(jupyter-nbconvert)
python3 -c "import nbclient" 2>/dev/null || /usr/bin/python3 -c "import nbclient" 2>/dev/null || need_apt+=(python3-nbclient python3-ipykernel)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

if ! .venv/bin/python -c "import tensorflow" >/dev/null 2>&1; then
  log "python: creating .venv with tensorflow-cpu==2.21.0"
  python3 -m venv .venv
  .venv/bin/pip install --retries 0 -q tensorflow-cpu==2.21.0 numpy >&2
fi
# Reference tokenizer libraries: the tokenizer tests compare our ids with theirs.
if ! .venv/bin/python -c "import tokenizers, sentencepiece" >/dev/null 2>&1; then
  log "python: installing reference tokenizers into .venv"
  .venv/bin/pip install --retries 0 -q tokenizers==0.23.2 sentencepiece==0.2.2 >&2
fi
