/**
 * The tree side of train/checkpoint.ts: checking a stored checkpoint against the trees and config
 * the caller expects, and rebuilding tensor trees from bundle entries. Private to checkpoint.ts,
 * which re-exports the two errors.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Data } from "effect";
import type { BundleEntry } from "../formats/tensor_bundle.ts";
import { type Leaf, type Tree, type TreeDef, treeFlatten, treeUnflatten } from "../transforms/tree.ts";

/** The checkpoint does not fit what the caller expects: another config, or another tree. */
export class CheckpointMismatch extends Data.TaggedError("CheckpointMismatch")<{
  readonly dir: string;
  /** The bundle key (`params/...`), or `config.<field>`, where they first differ. */
  readonly path: string;
  readonly inCheckpoint: string;
  readonly expected: string;
}> {
  override get message(): string {
    return `Cannot load checkpoint '${this.dir}': ${this.path} is ${this.inCheckpoint} in the checkpoint but ${this.expected} in the model`;
  }
}

/** A checkpoint file is missing, truncated or corrupted (named in `file`). */
export class CheckpointCorrupt extends Data.TaggedError("CheckpointCorrupt")<{
  readonly file: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot load checkpoint file '${this.file}': ${this.reason}`;
  }
}

const shapeText = (e: { shape: readonly number[]; dtype: string }) => `${e.dtype} [${e.shape.join(", ")}]`;

/** Throws CheckpointMismatch at the first leaf of `like` (in its flat order) that the file lacks or shapes differently. */
export function matchTree(
  dir: string,
  prefix: string,
  entries: Map<string, BundleEntry>,
  like: Tree<Leaf>,
): void {
  const { leaves, paths } = treeFlatten(like);
  for (const [i, path] of paths.entries()) {
    const e = entries.get(path);
    const want = shapeText(leaves[i]);
    if (!e) {
      throw new CheckpointMismatch({ dir, path: prefix + path, inCheckpoint: "missing", expected: want });
    }
    if (shapeText(e) !== want) {
      throw new CheckpointMismatch({ dir, path: prefix + path, inCheckpoint: shapeText(e), expected: want });
    }
  }
  const known = new Set(paths);
  for (const [path, e] of entries) {
    if (!known.has(path)) {
      throw new CheckpointMismatch({
        dir,
        path: prefix + path,
        inCheckpoint: shapeText(e),
        expected: "absent",
      });
    }
  }
}

/** Throws CheckpointMismatch at the first config field (depth first, keys sorted) that differs. */
export function matchConfig(dir: string, stored: unknown, expected: unknown, path = "config"): void {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;
  if (isObj(stored) && isObj(expected) && Array.isArray(stored) === Array.isArray(expected)) {
    const keys = [...new Set([...Object.keys(stored), ...Object.keys(expected)])].sort();
    for (const k of keys) {
      matchConfig(dir, stored[k], expected[k], Array.isArray(stored) ? `${path}[${k}]` : `${path}.${k}`);
    }
    return;
  }
  const [a, b] = [JSON.stringify(stored), JSON.stringify(JSON.parse(JSON.stringify(expected) ?? "null"))];
  if (a !== b) {
    throw new CheckpointMismatch({ dir, path, inCheckpoint: a ?? "absent", expected: b ?? "absent" });
  }
}

function toTensor(e: BundleEntry): tf.Tensor {
  if (e.dtype === "bool") return tf.tensor(Array.from(e.data as Uint8Array, Boolean), e.shape, "bool");
  if (e.dtype !== "float32" && e.dtype !== "int32") {
    throw new TypeError(`Cannot load checkpoint leaf '${e.key}': dtype ${e.dtype}`);
  }
  return tf.tensor(e.data as Float32Array | Int32Array, e.shape, e.dtype);
}

/** The leaf paths of a tree structure, in flat order (as tree.ts walks it). */
function structurePaths(def: TreeDef, path = ""): string[] {
  const join = (k: string | number) => (path === "" ? String(k) : `${path}/${k}`);
  switch (def.kind) {
    case "leaf":
      return [path];
    case "empty":
      return [];
    case "array":
      return def.children.flatMap((c, i) => structurePaths(c, join(i)));
    case "record":
      return def.children.flatMap((c, i) => structurePaths(c, join(def.keys[i])));
  }
}

const isTreeDef = (x: unknown): x is TreeDef =>
  typeof x === "object" && x !== null &&
  ["leaf", "empty", "array", "record"].includes((x as { kind?: string }).kind ?? "");

/**
 * Tensors in the structure of `like` (a template tree, or a stored TreeDef), or, with neither,
 * nested records rebuilt from the paths (arrays where the keys are 0..n-1).
 */
export function buildTree(
  file: string,
  entries: Map<string, BundleEntry>,
  like: Tree<Leaf> | TreeDef | undefined,
): Tree<tf.Tensor> {
  if (like !== undefined) {
    const stored = isTreeDef(like) && !(like instanceof tf.Tensor);
    const { paths, treedef } = stored
      ? { paths: structurePaths(like), treedef: like }
      : treeFlatten(like as Tree<Leaf>);
    const missing = paths.find((p) => !entries.has(p));
    if (stored && (missing !== undefined || paths.length !== entries.size)) {
      throw new CheckpointCorrupt({
        file,
        reason: `meta/structure does not match the stored leaves (${missing ?? "leaf count"})`,
      });
    }
    return treeUnflatten(treedef, paths.map((p) => toTensor(entries.get(p)!)));
  }
  if (entries.size === 1 && entries.has("")) return toTensor(entries.get("")!);
  const root: Record<string, unknown> = {};
  for (const [path, e] of entries) {
    const segs = path.split("/");
    let node = root;
    for (const s of segs.slice(0, -1)) node = (node[s] ??= {}) as Record<string, unknown>;
    node[segs[segs.length - 1]] = toTensor(e);
  }
  const arrays = (x: unknown): unknown => {
    if (x instanceof tf.Tensor || typeof x !== "object" || x === null) return x;
    const rec = x as Record<string, unknown>;
    const keys = Object.keys(rec);
    const isArray = keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k) && Number(k) < keys.length);
    return isArray
      ? keys.map((_, i) => arrays(rec[i]))
      : Object.fromEntries(keys.map((k) => [k, arrays(rec[k])]));
  };
  return arrays(root) as Tree<tf.Tensor>;
}
