/**
 * Parameter trees: plain nested records and arrays whose leaves are tensors (or, for abstract
 * evaluation and tracing, `ShapeDtype` descriptions). Record keys are visited in sorted order, as in
 * JAX, so a tree's flat order never depends on the order its fields were written in; a leaf's path
 * joins the keys and indices on the way to it with "/" (`video_encoder/blocks/3/attn/q/w`).
 * Paths name checkpoint entries and SavedModel variables, so they are part of the file formats.
 */
import * as tf from "@tensorflow/tfjs-core";

/** A leaf that has a shape and a dtype but no values. */
export type ShapeDtype = { readonly shape: readonly number[]; readonly dtype: tf.DataType };

export type Leaf = tf.Tensor | ShapeDtype;

/** Nested records/arrays of leaves. `null`/`undefined` are empty subtrees (an optional bias, say). */
export type Tree<L = tf.Tensor> =
  | L
  | null
  | undefined
  | readonly Tree<L>[]
  | { readonly [key: string]: Tree<L> };

/**
 * The structure of T with every leaf replaced by R: `MapLeaves<DenseParams, ShapeDtype>`. Mapping
 * tensors to tensors (grads, clones, updates) keeps each leaf's own tensor type, so the result is
 * again a T.
 */
export type MapLeaves<T, R> = IsWideTree<T> extends true ? Tree<R>
  : T extends Leaf ? ([R] extends [tf.Tensor] ? (T extends tf.Tensor ? T : R) : R)
  : T extends null | undefined ? T
  : T extends readonly unknown[] ? { [I in keyof T]: MapLeaves<T[I], R> }
  : T extends object ? { [K in keyof T]: MapLeaves<T[K], R> }
  : never;

/** The recursive `Tree<...>` type itself (not a concrete params type): maps to `Tree<R>` without recursing. */
type IsWideTree<T> = [Tree<tf.Tensor>] extends [T] ? true : [Tree<ShapeDtype>] extends [T] ? true : false;

/** The shape of a tree without its leaves: enough to rebuild it from a flat list. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "empty"; readonly value: null | undefined }
  | { readonly kind: "array"; readonly children: readonly TreeDef[] }
  | { readonly kind: "record"; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

export class TreeError extends Error {
  override readonly name = "TreeError";
  constructor(readonly path: string, readonly reason: string) {
    super(`Cannot walk tree at '${path || "<root>"}': ${reason}`);
  }
}

export function isShapeDtype(x: unknown): x is ShapeDtype {
  if (x === null || typeof x !== "object" || x instanceof tf.Tensor) return false;
  const o = x as Record<string, unknown>;
  return Array.isArray(o.shape) && typeof o.dtype === "string" && Object.keys(o).length === 2;
}

export function isLeaf(x: unknown): x is Leaf {
  return x instanceof tf.Tensor || isShapeDtype(x);
}

const join = (path: string, key: string | number) => (path === "" ? String(key) : `${path}/${key}`);

function walk(tree: unknown, path: string, visit: (leaf: Leaf, path: string) => void): TreeDef {
  if (isLeaf(tree)) {
    visit(tree, path);
    return { kind: "leaf" };
  }
  if (tree === null || tree === undefined) return { kind: "empty", value: tree };
  if (Array.isArray(tree)) {
    return { kind: "array", children: tree.map((t, i) => walk(t, join(path, i), visit)) };
  }
  if (typeof tree === "object" && isPlainRecord(tree)) {
    const rec = tree as Record<string, unknown>;
    const keys = Object.keys(rec).sort();
    return { kind: "record", keys, children: keys.map((k) => walk(rec[k], join(path, k), visit)) };
  }
  throw new TreeError(path, `a leaf must be a tf.Tensor or {shape, dtype}, got ${describe(tree)}`);
}

function isPlainRecord(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function describe(x: unknown): string {
  if (typeof x === "object" && x !== null) return x.constructor?.name ?? "object";
  return `${typeof x} ${String(x)}`;
}

/** Leaves in flat order, their paths, and the structure to rebuild the tree with `treeUnflatten`. */
export function treeFlatten<L extends Leaf = tf.Tensor>(
  tree: Tree<L>,
): { leaves: L[]; paths: string[]; treedef: TreeDef } {
  const leaves: L[] = [];
  const paths: string[] = [];
  const treedef = walk(tree, "", (leaf, path) => {
    leaves.push(leaf as L);
    paths.push(path);
  });
  return { leaves, paths, treedef };
}

/** Rebuilds a tree of the given structure from leaves in flat order. */
export function treeUnflatten<L>(treedef: TreeDef, leaves: readonly L[]): Tree<L> {
  let next = 0;
  const build = (def: TreeDef): Tree<L> => {
    switch (def.kind) {
      case "leaf":
        if (next >= leaves.length) {
          throw new TreeError("", `too few leaves: needed more than ${leaves.length}`);
        }
        return leaves[next++];
      case "empty":
        return def.value;
      case "array":
        return def.children.map(build);
      case "record":
        return Object.fromEntries(def.keys.map((k, i) => [k, build(def.children[i])]));
    }
  };
  const tree = build(treedef);
  if (next !== leaves.length) {
    throw new TreeError("", `too many leaves: structure has ${next}, got ${leaves.length}`);
  }
  return tree;
}

export function treeLeaves<L extends Leaf = tf.Tensor>(tree: Tree<L>): L[] {
  return treeFlatten(tree).leaves;
}

export function treePaths(tree: Tree<Leaf>): string[] {
  return treeFlatten(tree).paths;
}

/** Applies `f` to every leaf (with its path), keeping the structure. */
export function treeMap<T, R>(tree: T, f: (leaf: Leaf & LeafOf<T>, path: string) => R): MapLeaves<T, R> {
  const { leaves, paths, treedef } = treeFlatten(tree as Tree<Leaf>);
  return treeUnflatten(treedef, leaves.map((l, i) => f(l as Leaf & LeafOf<T>, paths[i]))) as MapLeaves<T, R>;
}

/**
 * Applies `f` to the leaves at the same path in several trees of one structure (grads, state and
 * params in an optimizer). A structural difference throws, naming the first path where they differ.
 */
export function treeMapMany<T, R>(
  trees: readonly T[],
  f: (leaves: (Leaf & LeafOf<T>)[], path: string) => R,
): MapLeaves<T, R> {
  if (trees.length === 0) throw new TreeError("", "treeMapMany needs at least one tree");
  const flat = trees.map((t) => treeFlatten(t as Tree<Leaf>));
  const [first] = flat;
  for (const [n, other] of flat.entries()) {
    const i = first.paths.findIndex((p, j) => p !== other.paths[j]);
    if (i >= 0 || other.paths.length !== first.paths.length) {
      const at = i >= 0 ? i : Math.min(first.paths.length, other.paths.length);
      throw new TreeError(
        first.paths[at] ?? other.paths[at] ?? "",
        `tree 0 and tree ${n} differ here (${first.paths[at] ?? "<end>"} vs ${other.paths[at] ?? "<end>"})`,
      );
    }
  }
  const out = first.leaves.map((_, i) => f(flat.map((t) => t.leaves[i] as Leaf & LeafOf<T>), first.paths[i]));
  return treeUnflatten(first.treedef, out) as MapLeaves<T, R>;
}

/** The leaf type of a tree type (tf.Tensor for params, ShapeDtype for paramShapes output). */
export type LeafOf<T> = IsWideTree<T> extends true ? Leaf
  : T extends Leaf ? T
  : T extends readonly (infer E)[] ? LeafOf<E>
  : T extends object ? { [K in keyof T]: LeafOf<T[K]> }[keyof T]
  : never;

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total number of scalars in the tree's leaves (works on tensors and on `paramShapes` output). */
export function countParams(tree: Tree<Leaf>): number {
  return treeLeaves(tree).reduce((n, leaf) => n + size(leaf.shape), 0);
}

/** Disposes every tensor leaf; `ShapeDtype` leaves own nothing. */
export function treeDispose(tree: Tree<Leaf>): void {
  for (const leaf of treeLeaves(tree)) if (leaf instanceof tf.Tensor) leaf.dispose();
}

/** The `ShapeDtype` of every leaf: what a tree looks like without its values. */
export function treeShapes<T>(tree: T): MapLeaves<T, ShapeDtype> {
  return treeMap(tree, (l) => ({ shape: [...l.shape], dtype: l.dtype }));
}
