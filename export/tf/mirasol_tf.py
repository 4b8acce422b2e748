"""Loading and training SavedModels exported by mirasol-ts (export/savedmodel), in TensorFlow 2.

Both parameter modes look the same from here:
  * "variables": parameters are the model's trainable tf.Variables, restored from variables/;
  * "inputs": the model has an `init(seed)` function; we create tf.Variables from its outputs and
    pass them to every signature as keyword arguments.

`load_model` returns a `Loaded` record with `params` (path or keyword -> tf.Variable) and
`call(signature, batch)`, which is what the checks and the training driver use.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402


def use_logical_cpus(n: int) -> None:
    """Splits the CPU into n logical devices (must run before TensorFlow initialises its runtime)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


@dataclasses.dataclass
class Loaded:
    module: object
    mode: str  # "variables" | "inputs"
    params: Dict[str, tf.Variable]  # variables mode: param path; inputs mode: keyword name

    def call(self, signature: str, batch: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        fn = getattr(self.module, signature)
        accepted = set(fn.structured_input_signature[1])  # keyword inputs of this signature
        given = {**batch, **self.params} if self.mode == "inputs" else batch
        return fn(**{k: v for k, v in given.items() if k in accepted})

    @property
    def variables(self) -> List[tf.Variable]:
        return [self.params[k] for k in sorted(self.params)]


def load_model(export_dir: str, seed: int = 0, strategy: tf.distribute.Strategy | None = None) -> Loaded:
    """Loads an export under `strategy`'s scope (mirrored variables), creating params in inputs mode."""
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        module = tf.saved_model.load(export_dir)
        if hasattr(module, "init"):
            initial = module.init(seed=tf.constant(seed, tf.int32))
            params = {k: tf.Variable(v, name=k, trainable=True) for k, v in initial.items()}
            return Loaded(module, "inputs", params)
        params = {v.name.split(":")[0]: v for v in module.trainable_variables}
        return Loaded(module, "variables", params)


def _adam_update(var, grad, m, v, step, lr, b1=0.9, b2=0.999, eps=1e-8):
    m.assign(b1 * m + (1 - b1) * grad)
    v.assign(b2 * v + (1 - b2) * tf.square(grad))
    m_hat = m / (1 - tf.pow(b1, step))
    v_hat = v / (1 - tf.pow(b2, step))
    return var.assign_sub(lr * m_hat / (tf.sqrt(v_hat) + eps))


def make_train_step(
    model: Loaded,
    loss_of: Callable[[Dict[str, tf.Tensor]], tf.Tensor],
    strategy: tf.distribute.Strategy | None = None,
    lr: float = 1e-3,
    jit_compile: bool = False,
):
    """A tf.function running one Adam step on `batch` across the strategy's replicas.

    Each replica computes its gradients with GradientTape; TensorFlow all-reduces them (SUM of
    losses scaled by 1/replicas, i.e. the mean) before the update, which runs on every device's copy
    of the mirrored variables.
    """
    strategy = strategy or tf.distribute.get_strategy()
    variables = model.variables
    with strategy.scope():
        slots = [(tf.Variable(tf.zeros_like(v), trainable=False), tf.Variable(tf.zeros_like(v), trainable=False)) for v in variables]
        step = tf.Variable(0.0, trainable=False)
    replicas = strategy.num_replicas_in_sync

    def loss_and_grads(batch):
        with tf.GradientTape() as tape:
            loss = loss_of(batch) / replicas
        grads = tape.gradient(loss, variables)
        # Embedding lookups give IndexedSlices; a param the loss ignores gives None.
        return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]

    compiled = tf.function(loss_and_grads, jit_compile=True) if jit_compile else loss_and_grads

    def replica_step(batch):
        loss, grads = compiled(batch)
        grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
        return loss, grads

    @tf.function
    def train_step(batch):
        per_replica_loss, grads = strategy.run(replica_step, args=(batch,))
        step.assign_add(1.0)
        for var, g, (m, v) in zip(variables, grads, slots):
            strategy.extended.update(var, _adam_update, args=(g, m, v, step.read_value(), lr))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)

    return train_step
