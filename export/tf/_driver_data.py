"""TFRecord shards (data/tfrecords.ts) -> per-replica batches for one exported signature, with tf.data.

Every keyword input of the signature is read from the tf.train.Example feature of the same name, with
the signature's per-example shape and dtype: a float or int64 list of exactly that many values,
reshaped and cast (`text` int64 -> int32, `text_mask`/`loss_mask` int64 -> float32). `video` may be
stored as PNG frames under `video/encoded` instead (8-bit RGB, decoded to [0, 1]).

Batches have static shapes (drop_remainder), as XLA and TPUs need. Under a distribution strategy each
input pipeline (one per worker) reads its own share of the files, or of the records when there are
fewer files than pipelines, so no two workers train on the same examples in a step.
"""
from __future__ import annotations

import json
import posixpath
import re
from typing import Dict, List

import tensorflow as tf


class DataError(ValueError):
    """The shards cannot feed the signature: no files, a missing feature, a shape mismatch."""


MANIFEST_FORMAT = "mirasol-ts tfrecord shards v1"
MANIFEST_SUFFIX = ".shards.json"


def _shard_kind(name: str, file: str) -> str:
    """data/shard_manifest.ts shardKind: "ours" (a write's tagged shard), "foreign", or "other"."""
    m = re.match(rf"^{re.escape(name)}-\d{{5}}-of-\d{{5}}(\.[0-9a-z]{{8}})?\.tfrecord$", file)
    return "other" if m is None else ("ours" if m.group(1) else "foreign")


def _read_manifest(folder: str, manifest: str) -> dict:
    """Decodes a data/shard_manifest.ts manifest, naming the field that is wrong."""
    where = f"Cannot read training data in {folder}: {manifest}"
    try:
        m = json.loads(tf.io.gfile.GFile(posixpath.join(folder, manifest)).read())
    except (ValueError, tf.errors.OpError) as e:
        raise DataError(f"{where}: not a readable JSON manifest ({e})") from None
    if not isinstance(m, dict) or m.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{where}: format: expected {MANIFEST_FORMAT!r}, got {m.get('format') if isinstance(m, dict) else m!r}")
    shards = m.get("shards")
    if not isinstance(shards, list):
        raise DataError(f"{where}: shards: expected a list, got {shards!r}")
    for i, s in enumerate(shards):
        ok = isinstance(s, dict) and isinstance(s.get("file"), str) and "/" not in s["file"] and s["file"] not in (".", "..")
        ok = ok and all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool) and s[k] >= 0 for k in ("examples", "bytes"))
        if not ok:
            raise DataError(f"{where}: shards[{i}]: expected {{file: a file name, examples: int >= 0, bytes: int >= 0}}, got {s!r}")
    return m


def _manifest_files(folder: str, manifest: str, present: List[str]) -> List[str]:
    """The shards one manifest lists, checked against the folder as data/shard_manifest.ts listShards does."""
    m = _read_manifest(folder, manifest)
    name = manifest[: -len(MANIFEST_SUFFIX)]
    listed = [s["file"] for s in m["shards"]]
    foreign = sorted(f for f in present if _shard_kind(name, f) == "foreign" and f not in listed)
    if foreign:
        raise DataError(f"Cannot read training data in {folder}: {', '.join(foreign)} not listed in {manifest} "
                        "(shards of another writer beside a mirasol-ts write)")
    files = []
    for s in m["shards"]:
        path = posixpath.join(folder, s["file"])
        if not tf.io.gfile.exists(path):
            raise DataError(f"Cannot read training data in {folder}: {manifest} lists {s['file']}, which is missing")
        size = tf.io.gfile.stat(path).length
        if size != s["bytes"]:
            raise DataError(f"Cannot read training data in {folder}: {manifest} lists {s['file']} with {s['bytes']} bytes, the file has {size}")
        files.append(path)
    return files


def shard_files(pattern: str) -> List[str]:
    """The TFRecord files to train on: a folder (its one shard manifest), a manifest, or a glob.

    A glob's matches in a folder that holds data/tfrecords.ts manifests are narrowed to the shards those
    manifests list, so an interrupted or repeated write is never read twice; a folder without a manifest
    (shards of another tool) is read as globbed.
    """
    if pattern.endswith(MANIFEST_SUFFIX):
        folder, manifest = posixpath.split(pattern)
        files = _manifest_files(folder or ".", manifest, tf.io.gfile.listdir(folder or "."))
    elif tf.io.gfile.isdir(pattern):
        folder = pattern.rstrip("/")
        present = tf.io.gfile.listdir(folder)
        manifests = sorted(f for f in present if f.endswith(MANIFEST_SUFFIX))
        if len(manifests) != 1:
            what = "no *.shards.json manifest" if not manifests else f"{len(manifests)} shard sets ({', '.join(manifests)}); pass one"
            raise DataError(f"Cannot read training data in {folder}: it holds {what}")
        files = _manifest_files(folder, manifests[0], present)
    else:
        matched = sorted(tf.io.gfile.glob(pattern))
        files = []
        by_folder: Dict[str, List[str]] = {}
        for path in matched:
            by_folder.setdefault(posixpath.dirname(path), []).append(path)
        for folder, paths in sorted(by_folder.items()):
            present = tf.io.gfile.listdir(folder or ".")
            manifests = sorted(f for f in present if f.endswith(MANIFEST_SUFFIX))
            if not manifests:
                files += paths
                continue
            listed = set()
            for manifest in manifests:
                listed.update(_manifest_files(folder, manifest, present))
            # a write's own leftovers (interrupted before its manifest) are skipped; anything else is an error
            for path in paths:
                base = posixpath.basename(path)
                if path in listed:
                    files.append(path)
                elif not any(_shard_kind(m[: -len(MANIFEST_SUFFIX)], base) == "ours" for m in manifests):
                    raise DataError(f"Cannot read training data in {folder}: {base} matches '{pattern}' but no "
                                    f"manifest there ({', '.join(manifests)}) lists it")
        files.sort()
    if not files:
        raise DataError(f"Cannot read training data: no TFRecord shards match '{pattern}'")
    return files


def _first_example(files: List[str]) -> tf.train.Example:
    for record in tf.data.TFRecordDataset(files[:1]).take(1):
        return tf.train.Example.FromString(record.numpy())
    raise DataError(f"Cannot read training data: the first shard {files[0]} holds no records")


def _feature_length(example: tf.train.Example, name: str) -> tuple[str, int]:
    f = example.features.feature[name]
    kind = f.WhichOneof("kind")
    values = getattr(f, kind).value if kind else []
    return kind or "empty", len(values)


def feature_spec(files: List[str], inputs: Dict[str, tf.TensorSpec]) -> tuple[dict, bool]:
    """The parse spec for `inputs` (per-example specs), checked against the first record.

    Returns (features, png_video). Raises DataError naming the feature and both shapes on mismatch.
    """
    example = _first_example(files)
    present = set(example.features.feature.keys())
    features, png_video = {}, False
    for name, spec in sorted(inputs.items()):
        shape = spec.shape.as_list()
        size = int(spec.shape.num_elements())
        if name == "video" and "video" not in present and "video/encoded" in present:
            kind, frames = _feature_length(example, "video/encoded")
            if frames != shape[0]:
                raise DataError(f"Cannot feed input 'video' {shape}: the shards hold {frames} PNG frames per example, not {shape[0]}")
            features["video/encoded"] = tf.io.FixedLenFeature([shape[0]], tf.string)
            png_video = True
            continue
        if name not in present:
            raise DataError(f"Cannot feed input '{name}' {shape}: the shards have no feature '{name}' (they have {sorted(present)})")
        kind, length = _feature_length(example, name)
        if length != size:
            stored = [int(v) for v in example.features.feature[f"{name}/shape"].int64_list.value] if f"{name}/shape" in present else [length]
            raise DataError(f"Cannot feed input '{name}' {shape}: the shards hold {length} values per example (shape {stored}), the signature needs {size}")
        if kind not in ("float_list", "int64_list"):
            raise DataError(f"Cannot feed input '{name}' {shape}: feature '{name}' is a {kind}, not a float or int64 list")
        features[name] = tf.io.FixedLenFeature([size], tf.float32 if kind == "float_list" else tf.int64)
    return features, png_video


def make_parser(features: dict, png_video: bool, inputs: Dict[str, tf.TensorSpec]):
    def parse(record):
        f = tf.io.parse_single_example(record, features)
        out = {}
        for name, spec in inputs.items():
            if name == "video" and png_video:
                frames = tf.map_fn(lambda png: tf.io.decode_png(png, channels=3), f["video/encoded"], fn_output_signature=tf.uint8)
                out[name] = tf.cast(frames, tf.float32) / 255.0  # [N, H, W, 3]
            else:
                out[name] = tf.cast(tf.reshape(f[name], spec.shape), spec.dtype)
        return out

    return parse


def dataset_fn(files: List[str], inputs: Dict[str, tf.TensorSpec], per_replica_batch: int, seed: int, shuffle_buffer: int = 1024):
    """A function of tf.distribute.InputContext giving this pipeline's batched, repeated dataset.

    `inputs` maps each keyword to its per-example TensorSpec (no batch dimension).
    """
    features, png_video = feature_spec(files, inputs)
    parse = make_parser(features, png_video, inputs)

    def make(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        batch = ctx.get_per_replica_batch_size(per_replica_batch * ctx.num_replicas_in_sync)
        pipelines, index = ctx.num_input_pipelines, ctx.input_pipeline_id
        names = tf.data.Dataset.from_tensor_slices(files)
        by_file = len(files) >= pipelines
        if by_file:
            names = names.shard(pipelines, index)
        names = names.shuffle(len(files), seed=seed, reshuffle_each_iteration=True).repeat()
        records = names.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8), num_parallel_calls=tf.data.AUTOTUNE)
        if not by_file:  # fewer files than workers: every worker reads all, keeps its share of records
            records = records.shard(pipelines, index)
        ds = records.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.shuffle(shuffle_buffer, seed=seed + index) if shuffle_buffer > 1 else ds
        return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    return make
