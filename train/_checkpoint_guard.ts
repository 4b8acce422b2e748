/**
 * What saveCheckpoint checks before it writes anything: a checkpoint that could not be loaded back
 * (an undefined or non-JSON config, a bad step or key, an unsupported dtype) is refused up front, so
 * the previous good checkpoint is never replaced by it; a folder holding another config's checkpoint
 * is refused unless the caller asks to overwrite. Private to checkpoint.ts, which re-exports the errors.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { Data } from "effect";
import { formatPath } from "../data/schema_decode.ts";
import { type Tree, treeFlatten } from "../transforms/tree.ts";

/** The checkpoint given to saveCheckpoint cannot be stored (`field` names what, as a path). */
export class CheckpointWriteError extends Data.TaggedError("CheckpointWriteError")<{
  readonly dir: string;
  readonly field: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot save checkpoint '${this.dir}': ${this.field} ${this.reason}`;
  }
}

/** `dir` holds a checkpoint of another config and `overwrite` was not asked. */
export class CheckpointClash extends Data.TaggedError("CheckpointClash")<{
  readonly dir: string;
  readonly stored: string | null;
  readonly saving: string | null;
}> {
  override get message(): string {
    const name = (n: string | null) => n === null ? "an unnamed config" : `config '${n}'`;
    return `Cannot save checkpoint '${this.dir}': it holds a checkpoint of ${name(this.stored)}, ` +
      `not of ${name(this.saving)} (pass overwrite: true to replace it)`;
  }
}

const SAVABLE_DTYPES = new Set(["float32", "int32", "bool"]);

/** The first value under `x` that JSON would drop or change (undefined, NaN, a function...), as a path. */
function unJsonable(x: unknown, path: PropertyKey[]): { path: string; what: string } | undefined {
  const at = (what: string) => ({ path: formatPath(path), what });
  switch (typeof x) {
    case "undefined":
    case "function":
    case "symbol":
    case "bigint":
      return at(`is ${typeof x}, which JSON cannot hold`);
    case "number":
      return Number.isFinite(x) ? undefined : at(`is ${x}, which JSON cannot hold`);
    case "object": {
      if (x === null) return undefined;
      const proto = Object.getPrototypeOf(x);
      if (!Array.isArray(x) && proto !== Object.prototype && proto !== null) {
        return at(`is a ${proto?.constructor?.name ?? "non-plain object"}, not plain JSON data`);
      }
      for (const [k, v] of Object.entries(x)) {
        const bad = unJsonable(v, [...path, Array.isArray(x) ? Number(k) : k]);
        if (bad) return bad;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Checks everything about `ckpt` that could fail mid-write or on load; returns the config's JSON. */
export function checkSavable(
  dir: string,
  ckpt: {
    readonly params: Tree<tf.Tensor>;
    readonly optState: Tree<tf.Tensor>;
    readonly step: number;
    readonly key: ArrayLike<number>;
    readonly config: unknown;
  },
): string {
  const fail = (field: string, reason: string) => new CheckpointWriteError({ dir, field, reason });
  if (!Number.isSafeInteger(ckpt.step) || ckpt.step < 0) {
    throw fail("step", `must be a non-negative integer, got ${ckpt.step}`);
  }
  const key = ckpt.key as ArrayLike<number> | undefined;
  if (
    !key || key.length !== 2 || !Array.from(key).every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
  ) {
    throw fail(
      "key",
      `must be 2 uint32 words, got ${JSON.stringify(key === undefined ? "undefined" : Array.from(key))}`,
    );
  }
  if (ckpt.config === undefined || ckpt.config === null) {
    throw fail("config", `is ${ckpt.config}: a checkpoint needs the config it was trained with`);
  }
  const bad = unJsonable(ckpt.config, []);
  if (bad) throw fail(bad.path === "" ? "config" : `config.${bad.path}`.replace(".[", "["), bad.what);
  for (const [name, tree] of [["params", ckpt.params], ["optState", ckpt.optState]] as const) {
    if (tree === undefined || tree === null) throw fail(name, `is ${tree}`);
    const { leaves, paths } = treeFlatten(tree);
    for (const [i, leaf] of leaves.entries()) {
      if (leaf.isDisposed) throw fail(`${name}/${paths[i]}`, "is a disposed tensor");
      if (!SAVABLE_DTYPES.has(leaf.dtype)) {
        throw fail(`${name}/${paths[i]}`, `has dtype ${leaf.dtype}, not float32, int32 or bool`);
      }
    }
  }
  return JSON.stringify(ckpt.config);
}

/** SHA-256 of a config's JSON, as hex: what tells one config's checkpoint folder from another's. */
export async function configHash(configJson: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(configJson));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
