/**
 * Optimizers as pure gradient transformations, in the style of optax (google-deepmind/optax:
 * optax/_src/base.py): `init(params) -> state` and `update(updates, state, params) -> {updates,
 * state}`, composed with `chain`. State is a tree of tensors only (counts, moments), so a checkpoint
 * stores it exactly like parameters. `applyUpdates` adds the final updates to the parameters.
 *
 * Memory contract (tfjs has no garbage collector for tensors): `update` never disposes its inputs
 * and returns only fresh tensors, so the caller can dispose grads, the old state and the old params
 * as soon as it has the result. Intermediates are freed inside `update` with `tf.tidy`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Leaf, type Tree, treeMapMany } from "../tree.ts";

/** A parameter-like tree: nested records/arrays of tensors. */
export type Params = Tree<tf.Tensor>;
/** Optimizer state: a tree of tensors only, so it checkpoints like params. */
export type OptState = Tree<tf.Tensor>;

export type GradientTransformation = {
  init(params: Params): OptState;
  update<P extends Params>(updates: P, state: OptState, params?: P): { updates: P; state: OptState };
};

/** A wrong optimizer argument or state: says which transformation and what was wrong. */
export class OptimError extends Error {
  override readonly name = "OptimError";
  constructor(readonly transform: string, readonly reason: string) {
    super(`Cannot use ${transform}: ${reason}`);
  }
}

/**
 * Applies `f` to the tensors at the same path in trees of one structure (grads, moments, params).
 * Used inside `tf.tidy`, so whatever `f` allocates and does not return is freed.
 */
export function zipMap(
  trees: readonly Params[],
  f: (leaves: tf.Tensor[], path: string) => tf.Tensor,
): Params {
  return treeMapMany(trees as Tree<Leaf>[], (leaves, path) => f(leaves as tf.Tensor[], path)) as Params;
}

/** Runs `f` under tf.tidy and types the result back (tidy's own type only knows TensorContainer). */
export function tidyUpdate<P extends Params>(
  f: () => { updates: Params; state: OptState },
): { updates: P; state: OptState } {
  return tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as { updates: P; state: OptState };
}

/** Checks a scalar hyperparameter, so a typo fails at construction, not as NaN weights later. */
export function checkRange(
  transform: string,
  name: string,
  value: number,
  lo: number,
  hi: number,
  hiOpen = false,
): void {
  const ok = Number.isFinite(value) && value >= lo && (hiOpen ? value < hi : value <= hi);
  if (!ok) {
    throw new OptimError(transform, `${name} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${value}`);
  }
}

/** Runs transformations one after the other; the state is the array of their states. */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update<P extends Params>(updates: P, state: OptState, params?: P) {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        const got = Array.isArray(state) ? `${state.length} parts` : typeof state;
        throw new OptimError(
          "chain",
          `state has ${got}, expected ${transforms.length} (was it made by this optimizer's init?)`,
        );
      }
      return tidyUpdate<P>(() => {
        let current: P = updates;
        const states: OptState[] = [];
        for (const [i, t] of transforms.entries()) {
          const out = t.update(current, state[i] as OptState, params);
          current = out.updates;
          states.push(out.state);
        }
        return { updates: current, state: states };
      });
    },
  };
}

/** params + updates, leaf by leaf; returns new tensors and disposes nothing. */
export function applyUpdates<P extends Params>(params: P, updates: Params): P {
  return tf.tidy(() =>
    zipMap([params, updates], ([p, u]) => tf.add(p, u)) as unknown as tf.TensorContainer
  ) as unknown as P;
}
