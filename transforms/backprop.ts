/**
 * Reverse-mode gradients that free memory as the reverse pass goes: tfjs' own `engine.gradients`
 * keeps every tensor the pass produces until it ends (each node's output gradient, every per-use
 * gradient of a weight after it is summed in, every tensor saved for the backward), so its peak is
 * the whole forward's saved tensors plus every gradient ever made. A weight used at each of T chunks
 * (the TTM's, the latent model's) then holds T weight-shaped copies.
 *
 * This pass runs the same tape with the same kernels in the same order, so gradients are bitwise
 * those of `engine.gradients`; it only disposes earlier:
 * - a node's output gradients and its saved tensors once the node has been differentiated (tensors
 *   are produced by one node, and the tape is walked in reverse, so nothing later needs them);
 * - a per-use gradient as soon as it is summed into the running total, which is then the only
 *   weight-shaped gradient of that weight alive (accumulation in place, as far as tfjs allows).
 * A gradient tensor can be held under several ids (a gradient function may return its dy as is), so
 * tensors are disposed by reference count, never while any id still holds them.
 *
 * Nested differentiation (a gradient taken inside another) keeps tfjs' own pass, which must keep
 * the tape for the outer one.
 */
import * as tf from "@tensorflow/tfjs-core";

/** The part of a tfjs tape node this pass reads. */
type TapeNode = {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  readonly saved?: tf.Tensor[];
};

/** The engine internals `engine.gradients` uses, which tfjs-core 4.22 does not type as public. */
type EngineInternals = {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
  startTape(): void;
  endTape(): void;
  tidy<R extends tf.TensorContainer>(name: string, f: () => R): R;
  tidy<R extends tf.TensorContainer>(f: () => R): R;
};

/**
 * `tf.engine().gradients(f, xs, undefined, true)` with the memory behaviour above: the value of f
 * and the gradient of each x (undefined where f does not depend on it).
 */
export function gradientsFreeingAsGoing(
  f: () => tf.Tensor,
  xs: readonly tf.Tensor[],
): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth > 0) {
    const r = tf.engine().gradients(f, [...xs], undefined, true);
    return { value: r.value, grads: r.grads };
  }
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy("forward", f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error("The result y returned by f() must be a tensor.");
  const tape = engine.state.activeTape ?? [];
  try {
    return engine.tidy("backward", () => {
      const grads = reversePass(filteredTape(tape, xs, y), xs, y, (g) => engine.tidy(g));
      return { value: y, grads: grads as tf.Tensor[] };
    }) as { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
}

/** Walks the tape backwards, holding only the gradients still to be consumed. */
function reversePass(
  tape: readonly TapeNode[],
  xs: readonly tf.Tensor[],
  y: tf.Tensor,
  tidy: (f: () => tf.Tensor) => tf.Tensor,
): (tf.Tensor | undefined)[] {
  const gradOf = new Map<number, tf.Tensor>(); // tensor id -> gradient
  const holders = new Map<tf.Tensor, number>(); // gradient -> how many ids hold it
  const hold = (id: number, g: tf.Tensor) => {
    gradOf.set(id, g);
    holders.set(g, (holders.get(g) ?? 0) + 1);
  };
  const release = (g: tf.Tensor) => {
    const n = (holders.get(g) ?? 0) - 1;
    if (n > 0) holders.set(g, n);
    else {
      holders.delete(g);
      g.dispose();
    }
  };
  const disposeUnheld = (g: tf.Tensor) => {
    if (!holders.has(g)) g.dispose();
  };
  const wanted = new Set(xs.map((x) => x.id));
  hold(y.id, tf.onesLike(y));
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (!node.gradient) {
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    }
    const dys = node.outputs.map((o) => gradOf.get(o.id) ?? null);
    const inputGradients = node.gradient(dys);
    for (const name in node.inputs) {
      if (!(name in inputGradients)) {
        throw new Error(
          `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`,
        );
      }
      const x = node.inputs[name];
      const dx = tidy(() => inputGradients[name]());
      if (dx.dtype !== "float32") {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
        );
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
        );
      }
      const total = gradOf.get(x.id);
      if (total === undefined) hold(x.id, dx);
      else {
        const sum = tf.add(total, dx);
        gradOf.delete(x.id);
        release(total);
        disposeUnheld(dx);
        hold(x.id, sum);
      }
    }
    // This node made its outputs: no node still to be walked reads their gradients or its saved tensors.
    for (const o of node.outputs) {
      const g = gradOf.get(o.id);
      if (g === undefined || wanted.has(o.id)) continue;
      gradOf.delete(o.id);
      release(g);
    }
    for (const t of node.saved ?? []) t.dispose();
  }
  return xs.map((x) => gradOf.get(x.id));
}

/**
 * The nodes on a path from some x to y, each with only its inputs that depend on an x: the same
 * selection as tfjs' getFilteredNodesXToY, which tfjs-core does not export.
 */
function filteredTape(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      node.outputs.forEach((o) => fromX.add(o.id));
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id))),
    }));
}
