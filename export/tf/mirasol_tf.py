"""Loading and training SavedModels exported by mirasol-ts (export/savedmodel), in TensorFlow 2.

Both parameter modes look the same from here:
  * "variables": parameters are the model's trainable tf.Variables, restored from variables/;
  * "inputs": the model has an `init(seed)` function; we create tf.Variables from its outputs and
    pass them to every signature as keyword arguments.

`load_model` returns a `Loaded` record with `params` (path or keyword -> tf.Variable) and
`call(signature, batch)`, which is what the checks and the training driver use.

Why training inlines the signature (`call(..., inline=True)`, which `make_train_step` uses): a
restored signature called as a function is differentiated as a forward call plus a backward call,
and the constant operands its gradients need (Slice begins, Transpose permutations, Pad paddings,
reduction axes) cross from one to the other as *outputs of the forward call*. XLA must know those at
compile time, so its constant analysis marks every input of the forward call (the batch and every
parameter) a compile-time constant: the parameters change each step, so XLA recompiled the whole
train step on every call (tiny: ~10 s a step; wsmall: ~67 s). Imported as ops of the caller's graph,
those operands stay `Const` nodes and the step compiles once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Callable, Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402


def use_logical_cpus(n: int) -> None:
    """Splits the CPU into n logical devices (must run before TensorFlow initialises its runtime)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def concrete(fn):
    """The concrete function behind a module attribute: exports make each one a tf.function with an
    input signature (so TensorFlow checks calls by name), whose single trace is the concrete function."""
    return fn.concrete_functions[0] if hasattr(fn, "concrete_functions") else fn


def input_specs(fn) -> Dict[str, tf.TensorSpec]:
    """Keyword -> TensorSpec of a module attribute or concrete function, positional or keyword-only."""
    args, kwargs = concrete(fn).structured_input_signature
    return {**{s.name: s for s in tf.nest.flatten(args)}, **kwargs}


def input_names(fn) -> List[str]:
    """The inputs in the order of the function's placeholders (its positional args, then sorted keywords)."""
    args, kwargs = concrete(fn).structured_input_signature
    return [s.name for s in tf.nest.flatten(args)] + sorted(kwargs)


@dataclasses.dataclass
class Loaded:
    module: object
    mode: str  # "variables" | "inputs"
    params: Dict[str, tf.Variable]  # variables mode: param path; inputs mode: keyword name
    _inline_depth: int = dataclasses.field(default=0, repr=False, compare=False)

    def call(self, signature: str, batch: Dict[str, tf.Tensor], inline: bool | None = None) -> Dict[str, tf.Tensor]:
        """Runs `signature` on `batch`; `inline` (default: inside `inlining()`) imports its body as ops
        of the current graph, which only `tf.gradients` differentiates (GradientTape does not see them)."""
        fn = getattr(self.module, signature)
        accepted = set(input_specs(fn))  # keyword inputs of this signature
        given = {**batch, **self.params} if self.mode == "inputs" else batch
        kwargs = {k: v for k, v in given.items() if k in accepted}
        if inline if inline is not None else self._inline_depth > 0:
            return inline_call(fn, kwargs)
        return fn(**kwargs)

    @contextlib.contextmanager
    def inlining(self):
        """Within it, `call` inlines by default (how `make_train_step` runs a caller's `loss_of`)."""
        self._inline_depth += 1
        try:
            yield
        finally:
            self._inline_depth -= 1

    @property
    def variables(self) -> List[tf.Variable]:
        return [self.params[k] for k in sorted(self.params)]


def inline_call(fn, kwargs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """A restored concrete function's body imported into the current graph (not a call op).

    Keyword arguments feed the body's leading placeholders (in the flattened, sorted-key order of its
    input signature); its captured variables are fed their handles *as read in this graph*, so that
    under a distribution strategy each replica reads its own copy and `tf.gradients(loss, variables)`
    reaches them through the body's ReadVariableOps. Must run while tracing (graph mode).
    """
    if tf.executing_eagerly():
        raise RuntimeError("inline_call: needs graph mode; call it inside a tf.function")
    fn = concrete(fn)
    graph = fn.graph
    names = input_names(fn)
    missing = [k for k in names if k not in kwargs]
    if missing:
        raise ValueError(f"inline_call: missing inputs {missing} of {graph.name}")
    inputs, captured = graph.inputs[: len(names)], graph.inputs[len(names):]
    if len(captured) != len(graph.variables):
        raise ValueError(f"inline_call: {graph.name} captures {len(captured)} tensors but {len(graph.variables)} variables; only variables can be inlined")
    input_map = {ph.name: tf.convert_to_tensor(kwargs[k]) for ph, k in zip(inputs, names)}
    here = tf.compat.v1.get_default_graph()  # a FuncGraph: eager handles enter it as captures
    input_map.update({ph.name: here.capture(var.handle) for ph, var in zip(captured, graph.variables)})
    # The placeholders themselves stay out (XLA has no Placeholder kernel); their consumers read the
    # mapped tensors, and a placeholder nothing reads is simply not mapped.
    body = graph.as_graph_def()
    fed = {ph.op.name for ph in graph.inputs}
    kept = [n for n in body.node if n.name not in fed]
    read = {i.lstrip("^").split(":")[0] for n in kept for i in n.input}
    del body.node[:]
    body.node.extend(kept)
    outputs = tf.graph_util.import_graph_def(
        body,
        input_map={k: v for k, v in input_map.items() if k.split(":")[0] in read},
        # Once differentiated through a tape, the body also returns its intermediates after these.
        return_elements=[t.name for t in graph.outputs[: len(tf.nest.flatten(fn.structured_outputs))]],
        name=graph.name.lstrip("_"),
    )
    return tf.nest.pack_sequence_as(fn.structured_outputs, outputs)


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

    `loss_of` runs inside `model.inlining()`, so its `model.call`s are inlined (see the module doc:
    with `jit_compile` XLA then compiles the step once, not on every call) and each replica's
    gradients come from `tf.gradients`; TensorFlow all-reduces them (SUM of losses scaled by
    1/replicas, i.e. the mean) before the update, which runs on every device's copy of the mirrored
    variables.
    """
    strategy = strategy or tf.distribute.get_strategy()
    variables = model.variables
    with strategy.scope():
        slots = [(tf.Variable(tf.zeros_like(v), trainable=False), tf.Variable(tf.zeros_like(v), trainable=False)) for v in variables]
        step = tf.Variable(0.0, trainable=False)
    replicas = strategy.num_replicas_in_sync

    def loss_and_grads(batch):
        zero = tf.UnconnectedGradients.ZERO
        if jit_compile:
            # XLA needs the signature inlined (else it recompiles every step), and only tf.gradients
            # sees inlined ops.
            with model.inlining():
                loss = loss_of(batch) / replicas
            grads = tf.gradients(loss, variables, unconnected_gradients=zero)
        else:
            # Without XLA the restored call can simply be differentiated by the tape.
            with tf.GradientTape() as tape:
                loss = loss_of(batch) / replicas
            grads = tape.gradient(loss, variables, unconnected_gradients=zero)
        # Embedding lookups give IndexedSlices.
        return loss, [tf.convert_to_tensor(g) for g in grads]

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
