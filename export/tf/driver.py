"""Trains a mirasol-ts SavedModel in TensorFlow on TFRecord shards; writes the weights back for TypeScript.

  python export/tf/driver.py --savedmodel EXPORT_DIR --data 'shards/*.tfrecord' --steps 1000 \
      --batch 64 --lr 1e-4 --out RUN_DIR [--strategy auto|mirrored|multiworker|tpu] [--jit]

The SavedModel is one exported by export/savedmodel (`variables` mode: its params are trainable
tf.Variables; `inputs` mode: they are created from `init(seed)`); the shards are data/tfrecords.ts's.
Strategy (see _driver_cluster.py): TPUStrategy when a TPU is present, MultiWorkerMirroredStrategy when
$TF_CONFIG names several workers, MirroredStrategy otherwise; the same command runs everywhere.

Each replica takes the signature's static batch size, so --batch (global) must be that size times
the number of replicas (the default). A step: every replica computes its loss and gradients with
tf.gradients over the trainable variables of the inlined loss (inside tf.function(jit_compile=True) with --jit), the
optimizer all-reduces the gradients and applies Adam (AdamW with --weight-decay) on every copy.

RUN_DIR receives (chief only; worker i writes under RUN_DIR/worker-i with --write-worker-weights):
  train/              tf.train.Checkpoint every --checkpoint-every steps (resumed from when present)
  ckpt-<step>.*, checkpoint, checkpoint.json   the weights, as train/checkpoint.ts loadCheckpoint reads
  metrics.jsonl       one JSON line per --log-every steps: step, each loss output, lr, throughput
The last line on stdout is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _driver_cluster as cluster  # noqa: E402
import _driver_data as data  # noqa: E402
import _driver_model as dmodel  # noqa: E402
import _driver_weights as weights  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--savedmodel", required=True, help="SavedModel directory exported by mirasol-ts")
    p.add_argument("--data", required=True, help="glob of TFRecord shards (local or gs://)")
    p.add_argument("--out", required=True, help="run directory: checkpoints, weights, metrics")
    p.add_argument("--steps", type=int, required=True, help="total optimizer steps (a resumed run continues to this)")
    p.add_argument("--batch", type=int, default=None, help="global batch (default: signature batch x replicas)")
    p.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--weight-decay", type=float, default=0.0, help="> 0: AdamW (decoupled decay), else Adam")
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--strategy", choices=["auto", "mirrored", "multiworker", "tpu"], default="auto")
    p.add_argument("--tpu", default=None, help="TPU name or grpc:// address (default: $TPU_NAME, or local chips)")
    p.add_argument("--cpu-replicas", type=int, default=1, help="MirroredStrategy over N logical CPUs when there is no GPU")
    p.add_argument("--jit", action="store_true", help="compile each replica's loss+gradients with XLA")
    p.add_argument("--signature", default="loss", help="the signature to minimise")
    p.add_argument("--loss-key", default="total", help="its output to minimise")
    p.add_argument("--config", default=None, help="JSON file with the model config stored in meta/config")
    p.add_argument("--seed", type=int, default=0, help="init(seed) in inputs mode, data order, meta/key")
    p.add_argument("--steps-per-loop", type=int, default=1, help="steps per tf.function call (TPUs: 50-200)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--keep-checkpoints", type=int, default=3)
    p.add_argument("--shuffle-buffer", type=int, default=1024)
    p.add_argument("--write-worker-weights", action="store_true", help="non-chief workers also write their weights")
    args = p.parse_args(argv)
    for name in ("steps", "steps_per_loop", "log_every", "checkpoint_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def make_optimizer(args):
    lr = args.lr
    if args.schedule == "cosine" or args.warmup_steps > 0:
        decay = max(1, args.steps - args.warmup_steps) if args.schedule == "cosine" else 10**12
        lr = tf.keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if args.warmup_steps else args.lr, decay_steps=decay,
            warmup_target=args.lr if args.warmup_steps else None, warmup_steps=args.warmup_steps)
    common = dict(learning_rate=lr, beta_1=args.beta1, beta_2=args.beta2, epsilon=args.eps)
    if args.weight_decay > 0:
        return tf.keras.optimizers.AdamW(weight_decay=args.weight_decay, **common)
    return tf.keras.optimizers.Adam(**common)


def make_train_loop(strategy, model: dmodel.Trainable, optimizer, loss_key: str, jit: bool):
    """A tf.function running `n` steps on the distributed iterator; returns each output's mean."""
    replicas = strategy.num_replicas_in_sync
    variables = model.variables

    def loss_and_grads(batch):
        outputs = model.loss(batch)  # the signature's body inlined into this graph
        scaled = outputs[loss_key] / replicas  # SUM-reduced gradients = the global mean's
        grads = tf.gradients(scaled, variables)  # GradientTape does not see inlined ops
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]
        return {k: v / replicas for k, v in outputs.items()}, grads

    compiled = tf.function(loss_and_grads, jit_compile=True) if jit else loss_and_grads

    def replica_step(batch):
        outputs, grads = compiled(batch)
        optimizer.apply_gradients(zip(grads, variables))  # all-reduces across replicas and workers
        return outputs

    @tf.function
    def train_loop(iterator, n):
        sums = {k: tf.constant(0.0) for k in model.scalar_outputs}
        for _ in tf.range(n):
            per_replica = strategy.run(replica_step, args=(next(iterator),))
            sums = {k: sums[k] + strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[k], axis=None) for k in sums}
        return {k: v / tf.cast(n, tf.float32) for k, v in sums.items()}

    return train_loop


def main(argv=None) -> dict:
    args = parse_args(argv)
    strategy, role = cluster.make_strategy(args.strategy, args.tpu, args.cpu_replicas)  # before any other op
    replicas = strategy.num_replicas_in_sync
    out_dir = args.out if role.is_chief else os.path.join(args.out, f"worker-{role.task_id}")
    os.makedirs(out_dir, exist_ok=True)

    model = dmodel.load_trainable(args.savedmodel, args.signature, args.loss_key, strategy, args.seed)
    global_batch = args.batch if args.batch is not None else model.batch * replicas
    if global_batch != model.batch * replicas:
        raise SystemExit(f"Cannot train with --batch {global_batch}: the SavedModel's '{args.signature}' signature takes "
                         f"{model.batch} examples per replica and there are {replicas} replicas, so the global batch is "
                         f"{model.batch * replicas} (re-export with batch {global_batch // replicas} to change it)")
    config = dmodel.model_config(args.savedmodel, args.config)

    files = data.shard_files(args.data)
    make_ds = data.dataset_fn(files, model.inputs, model.batch, args.seed, args.shuffle_buffer)
    iterator = iter(strategy.distribute_datasets_from_function(make_ds))

    with strategy.scope():
        optimizer = make_optimizer(args)
        optimizer.build(model.variables)
    ckpt = tf.train.Checkpoint(optimizer=optimizer, params=dict(model.params))
    manager = tf.train.CheckpointManager(ckpt, os.path.join(out_dir, "train"), max_to_keep=args.keep_checkpoints)
    resume = tf.train.latest_checkpoint(os.path.join(args.out, "train"))  # the chief's, on a shared filesystem
    if resume:
        ckpt.restore(resume).assert_existing_objects_matched()
    train_loop = make_train_loop(strategy, model, optimizer, args.loss_key, args.jit)

    metrics = open(os.path.join(out_dir, "metrics.jsonl"), "a")
    step = int(optimizer.iterations.numpy())
    start_step, started, last = step, time.perf_counter(), time.perf_counter()
    first_loss = last_loss = None
    while step < args.steps:
        n = min(args.steps_per_loop, args.steps - step, args.log_every - step % args.log_every)
        outputs = {k: float(v) for k, v in train_loop(iterator, tf.constant(n)).items()}
        step = int(optimizer.iterations.numpy())
        first_loss = outputs[args.loss_key] if first_loss is None else first_loss
        last_loss = outputs[args.loss_key]
        if not np.isfinite(last_loss):
            raise SystemExit(f"Cannot continue training: the loss is {last_loss} at step {step}")
        now = time.perf_counter()
        if step % args.log_every == 0 or step == args.steps:
            record = {"step": step, **outputs, "lr": float(tf.convert_to_tensor(optimizer.learning_rate)),
                      "examples_per_sec": round(n * global_batch / max(now - last, 1e-9), 2), "seconds": round(now - started, 3)}
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        last = now
        if step % args.checkpoint_every == 0 and step < args.steps:
            manager.save(checkpoint_number=step)
    manager.save(checkpoint_number=step)  # every worker saves: variables may need collectives to read
    metrics.close()

    summary = {"strategy": cluster.strategy_name(strategy), "replicas": replicas, "workers": role.workers, "task": role.task_id,
               "chief": role.is_chief, "mode": model.mode, "steps": step, "trained_steps": step - start_step,
               "resumed_from": resume, "global_batch": global_batch, "first_loss": first_loss, "last_loss": last_loss,
               "seconds": round(time.perf_counter() - started, 3), "out": out_dir}
    if role.is_chief or args.write_worker_weights:
        summary["weights"] = weights.write_weights(out_dir, model.numpy_params(), step, config, args.seed)["prefix"]
    if not role.is_chief and not args.write_worker_weights:
        shutil.rmtree(out_dir, ignore_errors=True)  # a non-chief's checkpoints only take part in the save
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
