"""Trains a mirasol-ts SavedModel in TensorFlow on TFRecord shards, then writes the trained weights
back as a checkpoint that TypeScript's `loadCheckpoint` (model/checkpoint.ts) reads.

  python export/tf/train.py --model EXPORT_DIR --data 'shards/*.tfrecord' --steps 1000 \
      --out CHECKPOINT_DIR [--lr 1e-4] [--seed 0] [--save-every 500] [--cpu-replicas 2]

* Strategy: TPUStrategy when a TPU is reachable, else MirroredStrategy over the local GPUs (or
  `--cpu-replicas` logical CPUs). Each replica gets the signature's static batch size B; the global
  batch is B x replicas, and gradients are all-reduced by TensorFlow before each Adam update.
* Data: tf.train.Example records as data/tfrecords.ts writes them. Every keyword input of the loss
  signature is read from the feature of the same name (float or int64 list, reshaped to the
  signature's per-example shape and cast to its dtype); `video/encoded` PNG frames are decoded when
  there is no float `video` feature.
* Checkpoints: tf.train.CheckpointManager under CHECKPOINT_DIR/tf (resumed if present).
* Output: CHECKPOINT_DIR/ckpt-<step>.{index,data-00000-of-00001} with `params/<path>`, `meta/step`,
  `meta/key`, `meta/config`, plus `checkpoint` and `checkpoint.json`, as model/checkpoint.ts writes.
"""
import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mirasol_tf as mt  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="SavedModel exported by mirasol-ts")
    p.add_argument("--data", required=True, help="glob of TFRecord shards")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0, help="init(seed) in inputs mode; data shuffling")
    p.add_argument("--save-every", type=int, default=0, help="TF checkpoint every N steps (0: at the end only)")
    p.add_argument("--cpu-replicas", type=int, default=1, help="logical CPU devices when there is no GPU/TPU")
    p.add_argument("--loss-signature", default="loss")
    p.add_argument("--loss-key", default="total")
    return p.parse_args(argv)


def pick_strategy(tf, cpu_replicas):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.NotFoundError):
        pass
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    cpus = tf.config.list_logical_devices("CPU")[:cpu_replicas]
    return tf.distribute.MirroredStrategy([d.name for d in cpus])


def make_dataset(tf, files, specs, seed):
    """specs: keyword -> TensorSpec with the batch dimension first."""
    first = next(iter(tf.data.TFRecordDataset(files[:1]).take(1)))
    example = tf.train.Example.FromString(first.numpy())
    present = set(example.features.feature.keys())
    features, png_video = {}, False
    for name, spec in specs.items():
        per_example = spec.shape[1:]
        size = int(per_example.num_elements())
        if name == "video" and "video" not in present and "video/encoded" in present:
            png_video = True
            features["video/encoded"] = tf.io.FixedLenFeature([per_example[0]], tf.string)
            continue
        if name not in present:
            raise ValueError(f"TFRecord has no feature '{name}' for the signature input of shape {per_example}; it has {sorted(present)}")
        features[name] = tf.io.FixedLenFeature([size], tf.float32 if spec.dtype.is_floating else tf.int64)

    def parse(record):
        f = tf.io.parse_single_example(record, features)
        out = {}
        for name, spec in specs.items():
            if name == "video" and png_video:
                frames = tf.map_fn(lambda b: tf.io.decode_png(b, channels=3), f["video/encoded"], fn_output_signature=tf.uint8)
                out[name] = tf.cast(frames, tf.float32) / 255.0
            else:
                out[name] = tf.cast(tf.reshape(f[name], spec.shape[1:]), spec.dtype)
        return out

    ds = tf.data.TFRecordDataset(files).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.shuffle(256, seed=seed).repeat()


def write_weights(tf, out_dir, model, metadata, step):
    """The trained params as a TensorBundle that model/checkpoint.ts's loadCheckpoint reads."""
    os.makedirs(out_dir, exist_ok=True)
    by_keyword = {p["keyword"]: p["path"] for p in metadata["params"]}
    names, tensors = [], []
    for key, var in sorted(model.params.items()):
        path = key if model.mode == "variables" else by_keyword[key]
        names.append(f"params/{path}")
        tensors.append(tf.convert_to_tensor(var))
    config = json.dumps(metadata.get("config"))
    names += ["meta/step", "meta/key", "meta/config"]
    tensors += [tf.constant(step, tf.int64), tf.constant([0, 0], tf.uint32), tf.constant(config)]
    order = sorted(range(len(names)), key=lambda i: names[i])  # SaveV2 writes in the given order
    prefix = f"ckpt-{step}"
    tf.raw_ops.SaveV2(
        prefix=os.path.join(out_dir, prefix),
        tensor_names=[names[i] for i in order],
        shape_and_slices=[""] * len(names),
        tensors=[tensors[i] for i in order],
    )
    with open(os.path.join(out_dir, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "{prefix}"\nall_model_checkpoint_paths: "{prefix}"\n')
    files = sorted(n for n in os.listdir(out_dir) if n.startswith(prefix + "."))
    info = {
        "format": "mirasol-ts checkpoint v1: TensorFlow TensorBundle (tf.train.load_checkpoint reads it)",
        "prefix": prefix,
        "step": step,
        "configName": (metadata.get("config") or {}).get("name") if isinstance(metadata.get("config"), dict) else None,
        "paramCount": int(sum(int(tf.size(t)) for t in tensors[: len(model.params)])),
        "optStateCount": 0,
        "files": [{"name": n, "bytes": os.path.getsize(os.path.join(out_dir, n))} for n in files],
    }
    tmp = os.path.join(out_dir, "checkpoint.json.tmp")
    with open(tmp, "w") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, "checkpoint.json"))  # the commit point
    return prefix


def main(argv=None):
    args = parse_args(argv)
    if args.cpu_replicas > 1:
        mt.use_logical_cpus(args.cpu_replicas)
    import tensorflow as tf

    with open(os.path.join(args.model, "mirasol_export.json")) as f:
        metadata = json.load(f)
    files = sorted(glob.glob(args.data))
    if not files:
        raise SystemExit(f"Cannot train: no TFRecord shards match {args.data}")
    strategy = pick_strategy(tf, args.cpu_replicas)
    model = mt.load_model(args.model, seed=args.seed, strategy=strategy)
    loss_fn = getattr(model.module, args.loss_signature)
    specs = {k: v for k, v in loss_fn.structured_input_signature[1].items() if k not in model.params}
    per_replica = next(iter(specs.values())).shape[0]
    ds = make_dataset(tf, files, specs, args.seed).batch(per_replica * strategy.num_replicas_in_sync, drop_remainder=True)
    batches = iter(strategy.experimental_distribute_dataset(ds))
    step_fn = mt.make_train_step(model, lambda b: model.call(args.loss_signature, b)[args.loss_key], strategy=strategy, lr=args.lr)

    with strategy.scope():
        step = tf.Variable(0, dtype=tf.int64, trainable=False)
    ckpt = tf.train.Checkpoint(step=step, **{f"p{i}": v for i, v in enumerate(model.variables)})
    manager = tf.train.CheckpointManager(ckpt, os.path.join(args.out, "tf"), max_to_keep=2)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint)
    losses = []
    while int(step.numpy()) < args.steps:
        loss = float(step_fn(next(batches)))
        step.assign_add(1)
        losses.append(loss)
        if args.save_every and int(step.numpy()) % args.save_every == 0:
            manager.save(checkpoint_number=int(step.numpy()))
    manager.save(checkpoint_number=int(step.numpy()))
    prefix = write_weights(tf, args.out, model, metadata, int(step.numpy()))
    print(json.dumps({"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "steps": int(step.numpy()), "losses": losses, "checkpoint": os.path.join(args.out, prefix)}))


if __name__ == "__main__":
    main()
