/**
 * `trace(f, ...inputs)`: runs a pure tensor function on shapes alone and returns its graph (a jaxpr
 * for tfjs). Inputs are trees whose leaves are `{shape, dtype}` descriptions (or tensors, whose
 * values are ignored), so a 3B-parameter model traces without allocating its weights. Shapes are
 * static, and shapes/axes/permutations/slice bounds are recorded as attrs, ready to become constants.
 *
 *   const g = trace((p, x) => tf.relu(tf.matMul(x, p.w)), { w: { shape: [4, 8], dtype: "float32" } },
 *     { shape: [2, 4], dtype: "float32" });
 *   console.log(printGraph(g));
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  addArg,
  newRecording,
  registerTraceBackend,
  TRACE_BACKEND,
  TraceError,
  valueOf,
  withRecording,
} from "./trace_backend.ts";
import type { Graph } from "./trace_ir.ts";
import { type Leaf, type MapLeaves, type Tree, treeFlatten, treeMap } from "./tree.ts";

export { TraceError } from "./trace_backend.ts";
export {
  type ConstData,
  formatType,
  type Graph,
  opCounts,
  printGraph,
  pruneGraph,
  type TracedValue,
  type TraceNode,
  type TraceSite,
  type ValueId,
  valueIndex,
} from "./trace_ir.ts";

export type TraceOptions = {
  /** Record each node's source line (a stack capture per kernel); on by default. */
  readonly withSources?: boolean;
};

/**
 * True while `trace` runs `f`: code that reads values for validation only (a range check on token
 * ids, say) should skip the read then, because traced tensors have shapes but no values.
 */
export function isTracing(): boolean {
  return tf.getBackend() === TRACE_BACKEND;
}

/** The tensors `f` receives for inputs described by `I`. */
type Traced<I> = MapLeaves<I, tf.Tensor>;

export function trace<I extends unknown[]>(
  f: (...args: { [K in keyof I]: Traced<I[K]> }) => unknown,
  ...inputs: I
): Graph {
  return traceWith({}, f, ...inputs);
}

export function traceWith<I extends unknown[]>(
  opts: TraceOptions,
  f: (...args: { [K in keyof I]: Traced<I[K]> }) => unknown,
  ...inputs: I
): Graph {
  registerTraceBackend();
  const rec = newRecording(opts);
  const previous = tf.getBackend();
  switchTo(TRACE_BACKEND);
  try {
    let graph: Graph | undefined;
    withRecording(rec, () =>
      tf.tidy(() => {
        const args = inputs.map((input, i) =>
          treeMap(input, (leaf: Leaf, path: string) => {
            checkStatic(leaf.shape, `${i}/${path}`);
            return addArg(rec, i, path, leaf.shape, leaf.dtype);
          })
        );
        const out = (f as (...a: unknown[]) => unknown)(...args);
        if (out instanceof Promise) {
          throw new TraceError(
            "trace",
            { layer: "", source: "?" },
            "f returned a Promise; trace needs a synchronous function",
          );
        }
        const { leaves, paths, treedef } = treeFlatten(out as Tree<Leaf>);
        const outputs = leaves.map((leaf, k) => {
          if (!(leaf instanceof tf.Tensor)) {
            throw new TraceError(
              "output",
              { layer: "", source: "?" },
              `output '${paths[k]}' is not a tensor`,
            );
          }
          return { path: paths[k], value: valueOf(rec, leaf).id };
        });
        graph = { nodes: rec.nodes, outputs, outputTree: treedef };
      }));
    return graph!;
  } finally {
    if (previous) switchTo(previous);
  }
}

function checkStatic(shape: readonly number[], where: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TraceError(
      "input",
      { layer: where, source: "?" },
      `dynamic or invalid shape [${shape}]; exported graphs need static shapes (fix batch and sequence sizes)`,
    );
  }
}

/** tfjs' setBackend is async, but for an initialised backend (or a synchronous factory) it completes at once. */
function switchTo(name: string): void {
  void tf.setBackend(name);
  if (tf.getBackend() !== name) {
    throw new TraceError(
      "trace",
      { layer: "", source: "?" },
      `cannot switch to backend '${name}' synchronously`,
    );
  }
}
