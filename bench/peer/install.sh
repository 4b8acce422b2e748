#!/usr/bin/env bash
# Installs lucidrains/mirasol-pytorch (the PyTorch peer) into .venv-peer, a venv of its own, from the
# source archives in ../shared/peers/ (its README: x-transformers 1.26.3, the one it runs on) and torch
# CPU from the package index. Idempotent: an existing venv that imports the peer is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$root/../../shared/peers}
[ -d "$peers" ] || peers=/work/shared/peers
venv=$root/.venv-peer
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import mirasol_pytorch, torch" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --retries 0 -q "torch==2.13.0+cpu" einops beartype packaging numpy
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar xzf "$peers"/x-transformers-1.26.3-*.tar.gz -C "$scratch"
tar xzf "$peers"/mirasol-pytorch-*.tar.gz -C "$scratch"
"$venv/bin/pip" install --retries 0 -q --no-deps "$scratch"/x-transformers* "$scratch"/mirasol-pytorch*
"$venv/bin/python" -c "import mirasol_pytorch, torch; print('peer installed, torch', torch.__version__)"
