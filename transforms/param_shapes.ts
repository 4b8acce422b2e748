/**
 * `paramShapes(init, config)`: the tree of shapes and dtypes that `init(key, config)` would return,
 * computed without allocating a single parameter (jax.eval_shape on an initialiser).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { evalAbstract } from "./abstract.ts";
import { type Key, PRNGKey } from "./random.ts";
import { type MapLeaves, type ShapeDtype, treeShapes } from "./tree.ts";

export function paramShapes<C, P>(
  init: (key: Key, config: C) => P,
  config: C,
  key: Key = PRNGKey(0),
): MapLeaves<P, ShapeDtype> {
  return evalAbstract(() => treeShapes(init(key, config)));
}

/** Bytes the parameters would take, by dtype width. */
export function paramBytes(shapes: unknown): number {
  const width: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };
  let total = 0;
  const visit = (t: unknown): void => {
    if (t === null || t === undefined) return;
    if (Array.isArray(t)) return t.forEach(visit);
    const o = t as Record<string, unknown>;
    if (Array.isArray(o.shape) && typeof o.dtype === "string") {
      total += (o.shape as number[]).reduce((a, b) => a * b, 1) * (width[o.dtype as tf.DataType] ?? 4);
      return;
    }
    if (typeof t === "object") Object.values(o).forEach(visit);
  };
  visit(shapes);
  return total;
}
