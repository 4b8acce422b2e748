/**
 * `valueAndGrad(f)` over parameter trees (jax.value_and_grad): f(params, ...args) returns a scalar
 * loss, or `{loss, aux}` with `hasAux`; the result gives the loss, the aux outputs, and gradients as a
 * tree of the same structure as params. A leaf the loss does not depend on gets a zero gradient
 * (tfjs would give nothing), so optimizers can always zip grads with params.
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients/mod.ts";
import { gradientsFreeingAsGoing } from "./backprop.ts";
import { type MapLeaves, type Tree, treeFlatten, treeUnflatten } from "./tree.ts";

export type Grads<P> = MapLeaves<P, tf.Tensor>;

export class GradError extends Error {
  override readonly name = "GradError";
}

export function valueAndGrad<P, A extends unknown[]>(
  f: (params: P, ...args: A) => tf.Scalar,
): (params: P, ...args: A) => { value: tf.Scalar; grads: Grads<P> };
export function valueAndGrad<P, A extends unknown[], X extends tf.TensorContainer>(
  f: (params: P, ...args: A) => { loss: tf.Scalar; aux: X },
  opts: { hasAux: true },
): (params: P, ...args: A) => { value: tf.Scalar; aux: X; grads: Grads<P> };
export function valueAndGrad<P, A extends unknown[]>(
  f: (params: P, ...args: A) => tf.Scalar | { loss: tf.Scalar; aux: tf.TensorContainer },
  opts: { hasAux?: boolean } = {},
) {
  return (params: P, ...args: A) => {
    const { leaves, paths, treedef } = treeFlatten(params as Tree<tf.Tensor>);
    const bad = leaves.findIndex((l) => !(l instanceof tf.Tensor) || l.dtype !== "float32");
    if (bad >= 0) {
      throw new GradError(`Cannot differentiate with respect to '${paths[bad]}': it is not a float32 tensor`);
    }
    let aux: tf.TensorContainer | undefined;
    const forward = () => {
      const out = f(treeUnflatten(treedef, leaves) as P, ...args);
      if (out instanceof tf.Tensor) {
        if (opts.hasAux) throw new GradError("f returned a bare loss but hasAux was set: return {loss, aux}");
        return checkScalar(out);
      }
      if (!opts.hasAux) throw new GradError("f returned {loss, aux} but hasAux was not set");
      // aux would be disposed with the forward scope: keep it for the caller.
      aux = keepAll(out.aux);
      return checkScalar(out.loss);
    };
    // Unused inputs get undefined gradients (tf.valueAndGrads would throw), which become zeros below;
    // the reverse pass frees each gradient and saved tensor once nothing still needs it.
    const { value, grads } = gradientsFreeingAsGoing(forward, leaves);
    const filled = leaves.map((l, i) => grads[i] ?? tf.zerosLike(l));
    const tree = treeUnflatten(treedef, filled) as Grads<P>;
    return opts.hasAux
      ? { value: value as tf.Scalar, aux, grads: tree }
      : { value: value as tf.Scalar, grads: tree };
  };
}

function checkScalar(t: tf.Tensor): tf.Scalar {
  if (t.rank !== 0) throw new GradError(`f must return a scalar loss, got shape [${t.shape}]`);
  return t as tf.Scalar;
}

function keepAll<X extends tf.TensorContainer>(x: X): X {
  const visit = (t: unknown): void => {
    if (t instanceof tf.Tensor) tf.keep(t);
    else if (Array.isArray(t)) t.forEach(visit);
    else if (t && typeof t === "object") Object.values(t).forEach(visit);
  };
  visit(x);
  return x;
}
