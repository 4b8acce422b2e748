"""The exported SavedModel as the driver trains it: its params by path, the loss signature's inputs.

Loading (both parameter modes) is mirasol_tf.load_model's. In `variables` mode a param's key is its
path (`text_decoder/blocks/0/cross/q/w`); in `inputs` mode it is the keyword `init(seed)` returns
(`text_decoder__blocks__0__cross__q__w`), mapped back to the path by the export's
`mirasol_export.json` ({"params": [{"keyword", "path"}]}) when it has one, else by undoing the
keyword rule (`__` -> `/`), which is exact for snake_case paths.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Callable, Dict, List

import numpy as np
import tensorflow as tf

import _driver_optim as optim
import mirasol_tf as mt

METADATA = "mirasol_export.json"


class ModelError(ValueError):
    """The SavedModel lacks what training needs (the signature, the loss output, a static batch)."""


@dataclasses.dataclass
class Trainable:
    mode: str  # "variables" | "inputs"
    params: Dict[str, tf.Variable]  # param path -> variable
    variables: List[tf.Variable]  # the float ones, in path order: what the optimizer updates
    inputs: Dict[str, tf.TensorSpec]  # keyword -> per-example spec (batch dimension removed)
    batch: int  # per-replica batch: the signature's static leading dimension
    scalar_outputs: List[str]  # the signature's scalar outputs (logged)
    loss: Callable[[Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]  # batch (and key) -> scalar outputs
    signature: str  # the signature trained
    takes_key: bool  # it has a PRNG `key` input (train_loss): masking and dropout drawn in the graph
    fold_in: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # the export's fold_in(key, data) -> key
    diagnose: Callable[[Dict[str, tf.Tensor]], Dict[str, float]] | None  # collapse diagnostics of a batch

    def numpy_params(self) -> Dict[str, np.ndarray]:
        return {path: np.asarray(v.numpy()) for path, v in self.params.items()}


def _metadata(export_dir: str) -> dict:
    path = os.path.join(export_dir, METADATA)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def keyword_paths(export_dir: str, keywords) -> Dict[str, str]:
    listed = {p["keyword"]: p["path"] for p in _metadata(export_dir).get("params", []) if "keyword" in p and "path" in p}
    return {k: listed.get(k, k.replace("__", "/")) for k in keywords}


def model_config(export_dir: str, config_path: str | None):
    """The config stored as meta/config: --config, else the export's metadata, else null (with a warning)."""
    if config_path:
        with open(config_path) as f:
            return json.load(f)
    config = _metadata(export_dir).get("config")
    if config is None:
        print(f"warning: no --config and no config in {export_dir}/{METADATA}; meta/config will be null", file=sys.stderr)
    return config


KEY = "key"  # the PRNG key input of train-mode signatures (uint32 [2])


def load_trainable(export_dir: str, signature: str | None, loss_key: str, strategy: tf.distribute.Strategy, seed: int) -> Trainable:
    loaded = mt.load_model(export_dir, seed=seed, strategy=strategy)
    if signature is None:  # the train-mode signature when the export has one (older exports: loss)
        signature = "train_loss" if hasattr(loaded.module, "train_loss") else "loss"
    if not hasattr(loaded.module, signature):
        raise ModelError(f"Cannot train {export_dir}: it has no '{signature}' signature")
    fn = getattr(loaded.module, signature)
    accepted = mt.input_specs(fn)
    takes_key = KEY in accepted
    if takes_key and not hasattr(loaded.module, "fold_in"):
        raise ModelError(f"Cannot train '{signature}' of {export_dir}: it takes a key but the export has no fold_in to derive keys")
    specs = {k: v for k, v in accepted.items() if k not in loaded.params and k != KEY}
    if not specs:
        raise ModelError(f"Cannot train on '{signature}': it takes no data inputs")
    batches = {k: (v.shape[0] if v.shape.rank else None) for k, v in specs.items()}
    if len(set(batches.values())) != 1 or None in batches.values():
        raise ModelError(f"Cannot train on '{signature}': its inputs need one static batch dimension, got {batches}")
    outputs = loaded.module.signatures[signature].structured_outputs if signature in loaded.module.signatures else {}
    if loss_key not in outputs:
        raise ModelError(f"Cannot minimise '{signature}/{loss_key}': the signature's outputs are {sorted(outputs)}")
    scalars = sorted(k for k, v in outputs.items() if v.shape.rank == 0 and v.dtype.is_floating)

    paths = keyword_paths(export_dir, loaded.params) if loaded.mode == "inputs" else {k: k for k in loaded.params}
    params = {paths[k]: v for k, v in loaded.params.items()}
    variables = [params[p] for p in sorted(params) if params[p].dtype.is_floating and params[p].trainable]

    def loss(batch):
        # Inlined, not called: XLA then sees the graph's shape operands as constants and compiles the
        # step once (mirasol_tf.inline_call); gradients must come from tf.gradients.
        out = loaded.call(signature, batch, inline=True)
        return {k: out[k] for k in scalars}

    def fold_in(key, data):
        return loaded.call("fold_in", {"key": key, "data": tf.convert_to_tensor(data, tf.int32)}, inline=not tf.executing_eagerly())["key"]

    def diagnose(batch):
        out = loaded.call("diagnostics", batch)
        return {f"diag_{k}": float(v) for k, v in out.items()}

    return Trainable(
        diagnose=diagnose if hasattr(loaded.module, "diagnostics") else None,
        signature=signature,
        takes_key=takes_key,
        fold_in=fold_in,
        mode=loaded.mode,
        params=params,
        variables=variables,
        inputs={k: tf.TensorSpec(v.shape[1:], v.dtype, k) for k, v in specs.items()},
        batch=int(next(iter(batches.values()))),
        scalar_outputs=scalars,
        loss=loss,
    )


def decay_mask(export_dir: str, model: Trainable) -> List[bool]:
    """Per trainable variable (in `model.variables` order), whether AdamW decays it: the export's mask."""
    paths = sorted(p for p, v in model.params.items() if v.dtype.is_floating and v.trainable)  # = variables' order
    shapes = [model.params[p].shape.as_list() for p in paths]
    return optim.decay_mask(paths, shapes, _metadata(export_dir).get("params", []))
