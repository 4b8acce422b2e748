"""Trains a mirasol-ts SavedModel in TensorFlow on TFRecord shards; writes the weights back for TypeScript.

  python export/tf/driver.py --savedmodel EXPORT_DIR --data 'shards/*.tfrecord' --steps 1000 \
      --batch 64 --lr 1e-4 --out RUN_DIR [--strategy auto|mirrored|multiworker|tpu] [--jit] [--finetune]
      [--stage pretrain|finetune] [--init-from PRETRAIN_RUN_DIR]

The SavedModel is one exported by export/savedmodel (`variables` mode: its params are trainable
tf.Variables; `inputs` mode: they are created from `init(seed)`); the shards are data/tfrecords.ts's.
Strategy (see _driver_cluster.py): TPUStrategy when a TPU is present, MultiWorkerMirroredStrategy when
$TF_CONFIG names several workers, MirroredStrategy otherwise; the same command runs everywhere.

What trains is what TypeScript defines: the `train_loss` signature is `loss(params, batch, {config,
train: true, key})`, Combiner-output masking and dropout included, drawn in the graph from `key`; the
key of step s on replica r is foldIn(foldIn(run, s), r) (train/step.ts stepKey), computed with the
export's own `fold_in`, where run is the key TypeScript's `train` derives from --seed. The optimizer is
TypeScript's recipe (_driver_optim.py: global-norm clipping, AdamW with the export's decay mask, linear
warm-up + cosine), with train/loop.ts's defaults. So with the same init, batches and seed, a run here
and a run of `train` give the same loss at every step.

Each replica takes the signature's static batch size, so --batch (global) must be that size times
the number of replicas (the default). A step: every replica computes its loss terms and gradients with
tf.gradients over the trainable variables of the inlined signature (inside tf.function(jit_compile=True)
with --jit), the gradients are all-reduced and clipped, and the update runs on every copy. The loss
minimised is the signature's weighted `total` (the config's weights), or the terms weighted by
--loss-weights / --finetune (text x10, paper §3.6), so one export serves pretraining and finetuning.

RUN_DIR receives (chief only; worker i writes under RUN_DIR/worker-i with --write-worker-weights):
  train/              tf.train.Checkpoint every --checkpoint-every steps (resumed from when present)
  ckpt-<step>.*, checkpoint, checkpoint.json   the weights, as train/checkpoint.ts loadCheckpoint reads
  metrics.jsonl       one JSON line per --log-every steps: step, each loss output, lr, throughput
The last line on stdout is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _import_tensorflow_quietly() -> None:
    """TensorFlow's C++ runtime writes notes (oneDNN, absl's preamble) to fd 2 while it loads, before
    TF_CPP_MIN_LOG_LEVEL applies; they would break the CLI's one-line error. A failed import still
    raises, after fd 2 is back."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _driver_cluster as cluster  # noqa: E402
import _driver_data as data  # noqa: E402
import _driver_model as dmodel  # noqa: E402
import _driver_optim as optim  # noqa: E402
import _driver_weights as weights  # noqa: E402


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2 (argparse prints the whole usage first)."""

    def error(self, message):
        sys.stderr.write(f"error: {message} (see --help)\n")
        raise SystemExit(2)


def check_flags(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every numeric flag in its range, and the local paths present, before TensorFlow starts."""
    def need(ok: bool, flag: str, want: str):
        if not ok:
            p.error(f"--{flag} must be {want}, got {getattr(args, flag.replace('-', '_'))}")
    for name in ("steps", "steps_per_loop", "log_every", "checkpoint_every", "keep_checkpoints", "cpu_replicas"):
        need(getattr(args, name) >= 1, name.replace("_", "-"), ">= 1")
    need(args.shuffle_buffer >= 0, "shuffle-buffer", ">= 0 (0 or 1: no shuffling)")
    need(args.batch is None or args.batch >= 1, "batch", ">= 1")
    for name in ("warmup_steps", "decay_steps"):
        need(getattr(args, name) is None or getattr(args, name) >= 0, name.replace("_", "-"), ">= 0")
    need(args.seed >= 0, "seed", ">= 0")
    need(math.isfinite(args.lr) and args.lr > 0, "lr", "a positive number")
    for name in ("weight_decay", "clip_norm"):
        need(math.isfinite(getattr(args, name)) and getattr(args, name) >= 0, name.replace("_", "-"), "a non-negative number")
    for name in ("beta1", "beta2"):
        need(0 <= getattr(args, name) < 1, name, "in [0, 1)")
    need(math.isfinite(args.eps) and args.eps > 0, "eps", "a positive number")
    if "://" not in args.savedmodel and not os.path.isfile(os.path.join(args.savedmodel, "saved_model.pb")):
        p.error(f"--savedmodel {args.savedmodel} is not a SavedModel folder (no saved_model.pb)")
    if "://" not in args.data and not any(c in args.data for c in "*?[") and not os.path.exists(args.data):
        p.error(f"--data {args.data} does not exist")
    if args.config is not None and not os.path.isfile(args.config):
        p.error(f"--config {args.config} is not a file")
    if args.init_from is not None and not os.path.isfile(os.path.join(args.init_from, "checkpoint.json")):
        p.error(f"Cannot --init-from '{args.init_from}': no checkpoint.json there (give a pretraining --out or train's <out>/ckpt)")


def parse_args(argv=None) -> argparse.Namespace:
    p = OneLineParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--savedmodel", required=True, help="SavedModel directory exported by mirasol-ts")
    p.add_argument("--data", required=True, help="glob of TFRecord shards (local or gs://)")
    p.add_argument("--out", required=True, help="run directory: checkpoints, weights, metrics")
    p.add_argument("--steps", type=int, required=True, help="total optimizer steps (a resumed run continues to this)")
    p.add_argument("--batch", type=int, default=None, help="global batch (default: signature batch x replicas)")
    p.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="cosine", help="after the warm-up")
    p.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up (default min(100, steps / 10), as train)")
    p.add_argument("--decay-steps", type=int, default=None, help="where the cosine reaches 0 (default --steps)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW decoupled decay on the export's decay mask")
    p.add_argument("--clip-norm", type=float, default=1.0, help="global-norm clipping of the gradients (0: off)")
    p.add_argument("--loss-weights", default=None, help="latent=W,reconstruction=W,text=W (default: the config's)")
    p.add_argument("--finetune", action="store_true", help="the config's loss weights with text x10 (paper §3.6)")
    p.add_argument("--stage", choices=["pretrain", "finetune"], default=None,
                   help="paper §3.6: pretrain weights every loss 1; finetune weights text x10 (latent=1,reconstruction=1,text=10)")
    p.add_argument("--init-from", default=None,
                   help="start from the params of this weights directory (a pretraining --out, or train's <out>/ckpt), fresh optimizer")
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--strategy", choices=["auto", "mirrored", "multiworker", "tpu"], default="auto")
    p.add_argument("--tpu", default=None, help="TPU name or grpc:// address (default: $TPU_NAME, or local chips)")
    p.add_argument("--cpu-replicas", type=int, default=1, help="MirroredStrategy over N logical CPUs when there is no GPU")
    p.add_argument("--jit", action="store_true", help="compile each replica's loss+gradients with XLA")
    p.add_argument("--signature", default=None, help="the signature to minimise (default train_loss, else loss)")
    p.add_argument("--loss-key", default="total", help="its output to minimise (without --loss-weights)")
    p.add_argument("--config", default=None, help="JSON file with the model config stored in meta/config")
    p.add_argument("--seed", type=int, default=0, help="init(seed) in inputs mode, data order, meta/key")
    p.add_argument("--steps-per-loop", type=int, default=1, help="steps per tf.function call (TPUs: 50-200)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--keep-checkpoints", type=int, default=3)
    p.add_argument("--shuffle-buffer", type=int, default=1024, help="examples shuffled per replica; 0 or 1: read in order")
    p.add_argument("--write-worker-weights", action="store_true", help="non-chief workers also write their weights")
    p.add_argument("--overwrite", action="store_true", help="train into an --out holding another config's checkpoint")
    args = p.parse_args(argv)
    check_flags(p, args)
    if sum(bool(x) for x in (args.loss_weights, args.finetune, args.stage)) > 1:
        p.error("--loss-weights, --finetune and --stage all set the loss weights: give one")
    try:
        args.recipe = recipe_of(args)
        args.weights = parse_weights(args.loss_weights) if args.loss_weights else None
    except ValueError as e:
        p.error(str(e))
    return args


TERMS = ("latent", "reconstruction", "text")


def parse_weights(text: str) -> dict:
    weights = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in TERMS or not value:
            raise ValueError(f"--loss-weights: expected latent=W,reconstruction=W,text=W, got '{part}'")
        w = float(value)
        if not (w >= 0 and np.isfinite(w)):
            raise ValueError(f"--loss-weights: {name} must be a finite weight >= 0, got {value}")
        weights[name.strip()] = w
    missing = [t for t in TERMS if t not in weights]
    if missing:
        raise ValueError(f"--loss-weights: missing {', '.join(missing)}")
    return weights


def recipe_of(args) -> optim.Recipe:
    """train/loop.ts defaults: warm-up min(100, steps / 10), cosine to 0 at --steps."""
    warmup = args.warmup_steps if args.warmup_steps is not None else min(100, args.steps // 10)
    decay = args.decay_steps if args.decay_steps is not None else args.steps
    return optim.Recipe(lr=args.lr, warmup_steps=warmup, decay_steps=decay, weight_decay=args.weight_decay,
                        clip_norm=args.clip_norm, b1=args.beta1, b2=args.beta2, eps=args.eps, schedule=args.schedule).check()


def fnv1a(name: str) -> int:
    """transforms/random.ts hashName: keysFor(key, [name]) folds this into the key."""
    h = 0x811C9DC5
    for byte in name.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def run_key(model: dmodel.Trainable, seed: int) -> tf.Tensor:
    """keysFor(PRNGKey(seed), ["init", "train"]).train: the run key train/loop.ts uses."""
    root = tf.constant(weights.prng_key_words(seed), tf.uint32)
    return model.fold_in(root, tf.constant(fnv1a("train"), tf.int32))


def make_train_loop(strategy, model: dmodel.Trainable, optimizer: optim.TsAdamW, objective, jit: bool, key: tf.Tensor | None):
    """A tf.function running `n` steps on the distributed iterator; returns each output's mean."""
    replicas = strategy.num_replicas_in_sync
    variables = model.variables

    def loss_and_grads(batch):
        outputs = model.loss(batch)  # the signature's body inlined into this graph
        scaled = objective(outputs) / replicas  # SUM-reduced gradients = the global mean's
        grads = tf.gradients(scaled, variables)  # GradientTape does not see inlined ops
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]
        return {k: v / replicas for k, v in outputs.items()}, grads

    compiled = tf.function(loss_and_grads, jit_compile=True) if jit else loss_and_grads

    def replica_step(batch):
        ctx = tf.distribute.get_replica_context()
        if key is not None:  # stepKey(run, step, replica): every replica draws its own masks
            step = optimizer.count.read_value()
            replica = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
            batch = {**batch, "key": model.fold_in(model.fold_in(key, step), replica)}
        outputs, grads = compiled(batch)
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)  # across replicas and workers
        outputs["grad_norm"] = optimizer.global_norm(grads)  # of the global mean's gradient, before clipping
        return outputs, optimizer.clip(grads)

    @tf.function
    def train_loop(iterator, n):
        sums = {k: tf.constant(0.0) for k in [*model.scalar_outputs, "grad_norm", "lr"]}
        for _ in tf.range(n):
            per_replica, grads = strategy.run(replica_step, args=(next(iterator),))
            lr = optimizer.apply(strategy, grads)
            step = {k: strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[k], axis=None) for k in per_replica}
            step["grad_norm"] = step["grad_norm"] / replicas  # each replica reported the same norm
            sums = {k: sums[k] + (lr if k == "lr" else step[k]) for k in sums}
        return {k: v / tf.cast(n, tf.float32) for k, v in sums.items()}

    return train_loop


STAGE_WEIGHTS = {  # train/stages.ts stageConfig: equal weights, then text x10 (paper §3.6)
    "pretrain": {"latent": 1.0, "reconstruction": 1.0, "text": 1.0},
    "finetune": {"latent": 1.0, "reconstruction": 1.0, "text": 10.0},
}


def init_from(model: dmodel.Trainable, run_dir: str) -> None:
    """Assigns every param from the weights in `run_dir`; the optimizer stays fresh (finetuning's own)."""
    try:
        stored = weights.read_params(run_dir)
    except (ValueError, tf.errors.OpError) as e:
        raise SystemExit(f"Cannot --init-from '{run_dir}': {e}")
    missing = sorted(set(model.params) - set(stored))
    extra = sorted(set(stored) - set(model.params))
    if missing or extra:
        raise SystemExit(f"Cannot --init-from '{run_dir}': its params differ from the export's "
                         f"(missing {missing[:3]}, unexpected {extra[:3]})")
    for path, v in model.params.items():
        if list(stored[path].shape) != v.shape.as_list():
            raise SystemExit(f"Cannot --init-from '{run_dir}': params/{path} has shape {list(stored[path].shape)}, "
                             f"the export's is {v.shape.as_list()}")
        v.assign(stored[path].astype(v.dtype.as_numpy_dtype))


def loss_objective(args, model: dmodel.Trainable, config):
    """What is minimised: the signature's output --loss-key, or the terms under --loss-weights/--finetune/--stage."""
    w = STAGE_WEIGHTS[args.stage] if args.stage else args.weights
    if w is None and args.finetune:
        base = (config or {}).get("losses")
        if not base:
            raise SystemExit("Cannot --finetune: the export has no config with loss weights (pass --loss-weights)")
        w = {**{t: float(base[t]) for t in TERMS}, "text": float(base["text"]) * 10}
    if w is None:
        return (lambda out: out[args.loss_key]), None
    missing = [t for t in TERMS if t not in model.scalar_outputs]
    if missing:
        raise SystemExit(f"Cannot weight the loss terms: '{model.signature}' has no outputs {missing}")
    return (lambda out: tf.add_n([out[t] * tf.constant(w[t], tf.float32) for t in TERMS])), w


def main(argv=None) -> dict:
    args = parse_args(argv)
    strategy, role = cluster.make_strategy(args.strategy, args.tpu, args.cpu_replicas)  # before any other op
    replicas = strategy.num_replicas_in_sync
    out_dir = args.out if role.is_chief else os.path.join(args.out, f"worker-{role.task_id}")
    os.makedirs(out_dir, exist_ok=True)

    model = dmodel.load_trainable(args.savedmodel, args.signature, args.loss_key, strategy, args.seed)
    key = run_key(model, args.seed) if model.takes_key else None
    global_batch = args.batch if args.batch is not None else model.batch * replicas
    if global_batch != model.batch * replicas:
        raise SystemExit(f"Cannot train with --batch {global_batch}: the SavedModel's '{args.signature}' signature takes "
                         f"{model.batch} examples per replica and there are {replicas} replicas, so the global batch is "
                         f"{model.batch * replicas} (re-export with batch {global_batch // replicas} to change it)")
    config = dmodel.model_config(args.savedmodel, args.config)
    weights.check_out(out_dir, config, args.overwrite)  # before anything is written there

    files = data.shard_files(args.data)
    make_ds = data.dataset_fn(files, model.inputs, model.batch, args.seed, args.shuffle_buffer)
    iterator = iter(strategy.distribute_datasets_from_function(make_ds))
    # A fixed probe batch (the data's first) on which the collapse diagnostics are logged.
    probe = next(iter(make_ds(tf.distribute.InputContext()))) if model.diagnose else None

    optimizer = optim.TsAdamW(args.recipe, model.variables, dmodel.decay_mask(args.savedmodel, model), strategy)
    objective, loss_weights = loss_objective(args, model, config)
    ckpt = tf.train.Checkpoint(optimizer=optimizer, params=dict(model.params))
    manager = tf.train.CheckpointManager(ckpt, os.path.join(out_dir, "train"), max_to_keep=args.keep_checkpoints)
    resume = tf.train.latest_checkpoint(os.path.join(args.out, "train"))  # the chief's, on a shared filesystem
    if resume:
        ckpt.restore(resume).assert_existing_objects_matched()
    elif args.init_from:  # a resumed run continues its own params instead
        init_from(model, args.init_from)
    train_loop = make_train_loop(strategy, model, optimizer, objective, args.jit, key)

    metrics = open(os.path.join(out_dir, "metrics.jsonl"), "a")
    step = int(optimizer.count.numpy())
    start_step, started, last = step, time.perf_counter(), time.perf_counter()
    first_loss = last_loss = None
    while step < args.steps:
        n = min(args.steps_per_loop, args.steps - step, args.log_every - step % args.log_every)
        outputs = {k: float(v) for k, v in train_loop(iterator, tf.constant(n)).items()}
        step = int(optimizer.count.numpy())
        first_loss = outputs[args.loss_key] if first_loss is None else first_loss
        last_loss = outputs[args.loss_key]
        if not np.isfinite(last_loss):
            raise SystemExit(f"Cannot continue training: the loss is {last_loss} at step {step}")
        now = time.perf_counter()
        if step % args.log_every == 0 or step == args.steps:
            record = {"step": step, **outputs, **(model.diagnose(probe) if probe is not None else {}),
                      "examples_per_sec": round(n * global_batch / max(now - last, 1e-9), 2), "seconds": round(now - started, 3)}
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        last = time.perf_counter()  # the diagnostics' time is not the next interval's
        if step % args.checkpoint_every == 0 and step < args.steps:
            manager.save(checkpoint_number=step)
    manager.save(checkpoint_number=step)  # every worker saves: variables may need collectives to read
    metrics.close()

    summary = {"strategy": cluster.strategy_name(strategy), "replicas": replicas, "workers": role.workers, "task": role.task_id,
               "chief": role.is_chief, "mode": model.mode, "signature": model.signature, "loss_weights": loss_weights, "stage": args.stage,
               "init_from": None if resume else args.init_from, "steps": step, "trained_steps": step - start_step,
               "resumed_from": resume, "global_batch": global_batch, "first_loss": first_loss, "last_loss": last_loss,
               "seconds": round(time.perf_counter() - started, 3), "out": out_dir}
    if role.is_chief or args.write_worker_weights:
        words = [int(w) for w in key.numpy()] if key is not None else weights.prng_key_words(args.seed)
        summary["weights"] = weights.write_weights(out_dir, model.numpy_params(), step, config, words)["prefix"]
    if not role.is_chief and not args.write_worker_weights:
        shutil.rmtree(out_dir, ignore_errors=True)  # a non-chief's checkpoints only take part in the save
    print(json.dumps(summary), flush=True)
    return summary


def cli(argv=None) -> int:
    """main() with failures as one line (no traceback) and exit code 1; usage errors exit 2."""
    try:
        main(argv)
    except SystemExit as e:
        if isinstance(e.code, str):
            sys.stderr.write(f"error: {e.code}\n")
            return 1
        return e.code or 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI's contract is one line, whatever failed
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        sys.stderr.write(f"error: {type(e).__name__}: {first}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
