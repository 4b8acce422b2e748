"""Trained weights -> a checkpoint directory that TypeScript's `loadCheckpoint` (train/checkpoint.ts) reads.

The layout and commit protocol are train/checkpoint.ts's, so a directory written here and one written
by `saveCheckpoint` are interchangeable:
  ckpt-<step>.index, ckpt-<step>.data-00000-of-00001   TensorBundle (tf.raw_ops.SaveV2):
      params/<path>   float32/int32, every parameter (`params/text_decoder/blocks/0/cross/q/w`)
      meta/step int64 scalar;  meta/key uint32 [2] (the run key);  meta/config string scalar, JSON
  checkpoint         TF's CheckpointState text (tf.train.load_checkpoint(dir) finds the bundle)
  checkpoint.json    the sidecar and commit point: the loader reads only the bundle it names
No `meta/structure` (the loader rebuilds the tree from the paths, or from `like`) and no `opt_state/`
(the TypeScript optimizers keep their own state layout; a run resumed in TypeScript restarts Adam's
moments). The previous bundle is deleted only after the new sidecar is in place.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from typing import Dict

import numpy as np
import tensorflow as tf

FORMAT = "mirasol-ts checkpoint v1: TensorFlow TensorBundle (tf.train.load_checkpoint reads it)"
OURS = re.compile(r"^(ckpt-[0-9_]+\.(index|data-\d{5}-of-\d{5})(\.tempstate[0-9a-f]+)?|(checkpoint|checkpoint\.json)\.tmp-[0-9a-f-]+)$")
# formats/atomic_write.ts's temp names: <target>.tmp-<pid>-<8 hex>; the pid tells a dead writer's
TEMP = re.compile(r"^(checkpoint|checkpoint\.json|metrics\.jsonl)\.tmp-(\d+)-[0-9a-f]{8}$")


class OutClash(Exception):
    """--out holds a checkpoint of another config."""


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(out_dir: str) -> list[str]:
    """Removes the temp files of writers that died (SIGKILL) in `out_dir`; returns their names."""
    removed = []
    for f in os.listdir(out_dir) if os.path.isdir(out_dir) else []:
        m = TEMP.match(f)
        if m and not _alive(int(m.group(2))):
            os.remove(os.path.join(out_dir, f))
            removed.append(f)
    return removed


def check_out(out_dir: str, config, overwrite: bool) -> None:
    """Refuses an `out_dir` whose committed checkpoint is of another config (unless `overwrite`):
    training there would replace it without a word."""
    if overwrite or not os.path.exists(os.path.join(out_dir, "checkpoint.json")):
        return
    try:
        stored = json.loads(tf.train.load_checkpoint(out_dir).get_tensor("meta/config"))
    except Exception:  # noqa: BLE001 - unreadable or foreign: not ours to replace silently
        stored = "<unreadable>"
    if stored != config:
        name = lambda c: c.get("name") if isinstance(c, dict) else c  # noqa: E731
        raise OutClash(f"Cannot train into --out {out_dir}: it holds a checkpoint of config '{name(stored)}', "
                       f"not of '{name(config)}' (pass --overwrite to replace it)")


def prng_key_words(seed: int) -> list[int]:
    """transforms/random.ts PRNGKey(seed): [floor(seed / 2^32), seed mod 2^32]."""
    return [seed // 2**32, seed % 2**32]


def _write_synced(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _sync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _previous_prefix(out_dir: str) -> str | None:
    try:
        with open(os.path.join(out_dir, "checkpoint.json")) as f:
            return json.load(f).get("prefix")
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_weights(out_dir: str, params: Dict[str, np.ndarray], step: int, config, key_words) -> dict:
    """Writes `params` (path -> array) as the checkpoint of `step` with the run's key words (meta/key);
    returns what checkpoint.json holds."""
    os.makedirs(out_dir, exist_ok=True)
    clean_stale_temps(out_dir)
    previous = _previous_prefix(out_dir)
    prefix, n = f"ckpt-{step}", 1
    while prefix == previous:
        prefix, n = f"ckpt-{step}_{n}", n + 1
    for f in os.listdir(out_dir):  # a killed writer's pieces of this same prefix (SaveV2 .tempstate files)
        if f.startswith(prefix + ".") and OURS.match(f):
            os.remove(os.path.join(out_dir, f))
    entries: Dict[str, tf.Tensor] = {}
    with tf.device("/cpu:0"):
        for path, value in params.items():
            value = np.asarray(value)
            if value.dtype not in (np.float32, np.int32):
                raise TypeError(f"Cannot write param '{path}': dtype {value.dtype} is not float32 or int32")
            entries[f"params/{path}"] = tf.constant(value)
        entries["meta/step"] = tf.constant(step, tf.int64)
        entries["meta/key"] = tf.constant(list(key_words), tf.uint32)
        entries["meta/config"] = tf.constant(json.dumps(config))
        names = sorted(entries)
        tf.raw_ops.SaveV2(
            prefix=os.path.join(out_dir, prefix),
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[entries[k] for k in names],
        )
    _sync_dir(out_dir)
    bundle = re.compile(re.escape(prefix) + r"\.(index|data-\d{5}-of-\d{5})$")
    files = sorted(f for f in os.listdir(out_dir) if bundle.match(f))
    info = {
        "format": FORMAT,
        "prefix": prefix,
        "step": step,
        "configName": config.get("name") if isinstance(config, dict) and isinstance(config.get("name"), str) else None,
        "paramCount": int(sum(np.asarray(v).size for v in params.values())),
        "optStateCount": 0,
        "files": [{"name": f, "bytes": os.path.getsize(os.path.join(out_dir, f))} for f in files],
    }
    _write_synced(os.path.join(out_dir, "checkpoint"), f'model_checkpoint_path: "{prefix}"\nall_model_checkpoint_paths: "{prefix}"\n')
    _write_synced(os.path.join(out_dir, "checkpoint.json"), json.dumps(info, indent=2) + "\n")  # the commit point
    _sync_dir(out_dir)
    keep = set(files)
    for f in os.listdir(out_dir):  # the previous bundle, and leftovers of killed writers
        if OURS.match(f) and f not in keep and os.path.isfile(os.path.join(out_dir, f)):
            os.remove(os.path.join(out_dir, f))
    return info


def read_params(run_dir: str) -> Dict[str, np.ndarray]:
    """The `params/<path>` arrays of the checkpoint `run_dir/checkpoint.json` names (train/checkpoint.ts's
    or write_weights'): what --init-from starts a finetuning run from. Optimizer state is not read."""
    prefix = _previous_prefix(run_dir)
    if not isinstance(prefix, str) or not re.match(r"^ckpt-[0-9_]+$", prefix):
        raise ValueError(f"Cannot read weights from '{run_dir}': no committed checkpoint (checkpoint.json names none)")
    reader = tf.train.load_checkpoint(os.path.join(run_dir, prefix))
    return {k[len("params/"):]: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if k.startswith("params/")}
