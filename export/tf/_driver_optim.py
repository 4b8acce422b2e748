"""TypeScript's training recipe in TensorFlow ops, so the driver trains exactly what `train` trains.

train/loop.ts `defaultOptimizer` is, in optax's order (transforms/optim/):
  clip by global norm (`--clip-norm`, 0 = off): g * clip / max(|g|, clip)
  Adam moments: mu = b1 mu + (1 - b1) g, nu = b2 nu + (1 - b2) g^2, t = updates so far + 1,
      u = (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t)) + eps)      (eps after the bias correction)
  decoupled weight decay on the leaves the export's decay mask selects: u + wd * p
  p <- p - lr(k) * u, k = updates before this one, lr = linear warm-up from 0, then cosine to 0.
Keras' AdamW differs on three counts (it decays every variable, puts eps before the correction and
has no global-norm clipping), so it is not used. Each op below is the float32 op TypeScript runs,
in the same order.

The update runs in cross-replica context (`strategy.extended.update`) on gradients all-reduced in
replica context, so every replica's copy of a variable gets the same update, as Keras does it.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Dict, List, Sequence

import tensorflow as tf

_NO_DECAY_LEAF = {"b", "bias", "scale", "gamma", "beta", "offset"}
_NO_DECAY_SEGMENT = re.compile(r"norm|embed|pos_emb|^ln(_|\d|$)")


def decay_by_default(path: str, shape: Sequence[int]) -> bool:
    """transforms/optim/adamw.ts decayByDefault, for exports whose metadata carries no decay mask."""
    segments = path.split("/")
    if segments[-1] in _NO_DECAY_LEAF or any(_NO_DECAY_SEGMENT.search(s) for s in segments):
        return False
    return len(shape) >= 2


@dataclasses.dataclass(frozen=True)
class Recipe:
    lr: float
    warmup_steps: int
    decay_steps: int
    weight_decay: float = 1e-4
    clip_norm: float = 1.0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    schedule: str = "cosine"  # "cosine" | "constant"

    def check(self) -> "Recipe":
        problems = []
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"--lr must be a positive number, got {self.lr}")
        if self.weight_decay < 0 or not math.isfinite(self.weight_decay):
            problems.append(f"--weight-decay must be >= 0, got {self.weight_decay}")
        if self.clip_norm < 0 or not math.isfinite(self.clip_norm):
            problems.append(f"--clip-norm must be >= 0 (0 turns clipping off), got {self.clip_norm}")
        if not (0 <= self.warmup_steps < self.decay_steps):
            problems.append(f"need 0 <= --warmup-steps < --decay-steps, got {self.warmup_steps} and {self.decay_steps}")
        for name, v in (("beta1", self.b1), ("beta2", self.b2)):
            if not 0 <= v < 1:
                problems.append(f"--{name} must be in [0, 1), got {v}")
        if self.schedule not in ("cosine", "constant"):
            problems.append(f"--schedule must be cosine or constant, got {self.schedule}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def f32(x: float) -> tf.Tensor:
    return tf.constant(x, tf.float32)


def learning_rate(r: Recipe, step: tf.Tensor) -> tf.Tensor:
    """transforms/optim/schedule.ts warmupCosine (peak r.lr, from 0, to 0) at `step` (updates done)."""
    t = tf.cast(step, tf.float32)
    if r.schedule == "constant":
        return f32(r.lr)
    cosine_steps = r.decay_steps - r.warmup_steps
    c = tf.minimum(tf.maximum(t - f32(r.warmup_steps), f32(0.0)), f32(cosine_steps))
    cosine = (tf.cos(c * f32(math.pi / cosine_steps)) + f32(1.0)) * f32(0.5)
    decayed = cosine * f32(r.lr) + f32(0.0)
    if r.warmup_steps == 0:
        return decayed
    warm = t * f32(r.lr / r.warmup_steps) + f32(0.0)
    return tf.where(t < f32(r.warmup_steps), warm, decayed)


class TsAdamW(tf.Module):
    """Slots (mu, nu per variable, the update count) and the update of `Recipe`; checkpointable."""

    def __init__(self, recipe: Recipe, variables: List[tf.Variable], decay: List[bool], strategy: tf.distribute.Strategy):
        super().__init__(name="ts_adamw")
        self.recipe, self.decay = recipe.check(), list(decay)
        self._targets = lambda: variables  # the model's variables, not tracked (the checkpoint has them as params)
        agg = tf.VariableAggregation.ONLY_FIRST_REPLICA
        with strategy.scope():
            self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name="count", aggregation=agg)
            self.mu = [tf.Variable(tf.zeros_like(v), trainable=False, name=f"mu_{i}", aggregation=agg) for i, v in enumerate(variables)]
            self.nu = [tf.Variable(tf.zeros_like(v), trainable=False, name=f"nu_{i}", aggregation=agg) for i, v in enumerate(variables)]

    def global_norm(self, grads: Sequence[tf.Tensor]) -> tf.Tensor:
        """transforms/optim/clip.ts globalNorm: sqrt(sum over leaves, in param order, of sum(g^2))."""
        return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads]))

    def clip(self, grads: Sequence[tf.Tensor]) -> List[tf.Tensor]:
        if self.recipe.clip_norm <= 0:
            return list(grads)
        clip = f32(self.recipe.clip_norm)
        scale = clip / tf.maximum(self.global_norm(grads), clip)  # 1 when within bounds
        return [g * scale for g in grads]

    def apply(self, strategy: tf.distribute.Strategy, grads: Sequence[tf.Tensor]) -> tf.Tensor:
        """One update from all-reduced, clipped `grads` (cross-replica context); returns lr used."""
        r = self.recipe
        step = self.count.read_value()
        lr = learning_rate(r, step)
        t = tf.cast(step + 1, tf.float32)
        correction1 = f32(1.0) - tf.pow(f32(r.b1), t)
        correction2 = f32(1.0) - tf.pow(f32(r.b2), t)

        def update(var, g, mu, nu, decayed):
            m = mu * f32(r.b1) + g * f32(1 - r.b1)
            v = nu * f32(r.b2) + tf.square(g) * f32(1 - r.b2)
            u = (m / correction1) / (tf.sqrt(v / correction2) + f32(r.eps))
            if decayed and r.weight_decay != 0:
                u = u + var * f32(r.weight_decay)
            mu.assign(m)
            nu.assign(v)
            return var.assign(var + u * -lr)

        for var, g, mu, nu, decayed in zip(self._targets(), grads, self.mu, self.nu, self.decay):
            strategy.extended.update(var, lambda x, g_, mu_, nu_, d=decayed: update(x, g_, mu_, nu_, d), args=(g, mu, nu), group=False)
        strategy.extended.update(self.count, lambda c: c.assign_add(1), group=False)
        return lr


def decay_mask(paths: Sequence[str], shapes: Sequence[Sequence[int]], metadata_params: List[Dict]) -> List[bool]:
    """Per variable, whether it is decayed: the export's own mask (metadata `decay`), else the default rule."""
    listed = {p["path"]: bool(p["decay"]) for p in metadata_params if "path" in p and "decay" in p}
    return [listed.get(p, decay_by_default(p, s)) for p, s in zip(paths, shapes)]
