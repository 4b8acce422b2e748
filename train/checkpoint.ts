/**
 * Training checkpoints: parameters, optimizer state, step, PRNG key and config in one directory.
 *
 * Format: a TensorFlow TensorBundle (formats/tensor_bundle.ts), the V2 checkpoint format, because
 * - TensorFlow reads it natively: `tf.train.load_checkpoint(dir)` lists and loads every tensor;
 * - the SavedModel export writes its `variables/` with the same writer, so there is one format to
 *   get right, tested byte for byte against TF's SaveV2;
 * - the TensorFlow training driver (export/tf/) writes trained weights back in it, and this loader
 *   reads them.
 * safetensors would need a second writer for the export and a converter for TF.
 *
 * Layout of `dir` (as TF's CheckpointManager lays out its directory):
 *   ckpt-<step>.index, ckpt-<step>.data-00000-of-00001   the bundle, keys:
 *       params/<path>      every parameter leaf (`params/video_encoder/blocks/3/attn/q/w`)
 *       opt_state/<path>   every optimizer-state leaf (`opt_state/1/0/mu/...`, `opt_state/1/2/count`)
 *       meta/step          int64 scalar;  meta/key  uint32 [2];  meta/config  string scalar, JSON
 *       meta/structure     string scalar, JSON {params, opt_state} tree structures (tree.ts TreeDef), so
 *                          empty subtrees and arrays come back without a template
 *   checkpoint             TF's CheckpointState text, so tf.train.load_checkpoint(dir) finds the bundle
 *   checkpoint.json        human-readable sidecar: step, config name, parameter count, files
 *
 * Atomicity: the bundle of a new save goes under a new prefix (temp names, fsync, rename), then
 * `checkpoint` and then `checkpoint.json` are replaced by rename. checkpoint.json is the commit point:
 * the loader reads only the bundle it names, so a writer killed at any moment leaves the previous
 * checkpoint loadable, and its files are deleted only after the commit. (Renaming a whole temp
 * directory over the old one cannot be atomic: POSIX rename refuses a non-empty target directory,
 * and moving the old one aside first leaves a moment with no checkpoint at all.)
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type BundleDtype,
  type BundleEntry,
  BundleError,
  dataPath,
  indexPath,
  readBundle,
  writeBundle,
} from "../formats/tensor_bundle.ts";
import { cleanStaleTemps, syncDir, writeFileAtomic } from "../formats/atomic_write.ts";
import { Result, Schema } from "effect";
import { decodeSyncResult, NonNegativeInt } from "../data/schema_decode.ts";
import { type HostKey, keyFromWords } from "../transforms/random.ts";
import {
  countParams,
  type Leaf,
  type MapLeaves,
  type Tree,
  type TreeDef,
  treeFlatten,
} from "../transforms/tree.ts";

export type Checkpoint<P = Tree<tf.Tensor>, S = Tree<tf.Tensor>, C = unknown> = {
  readonly params: P;
  readonly optState: S;
  /** Updates done so far. */
  readonly step: number;
  /** The PRNG key to continue with. */
  readonly key: HostKey;
  /** Any JSON-serialisable config (a MirasolConfig); stored as JSON. */
  readonly config: C;
};

/** What checkpoint.json holds. */
export type CheckpointInfo = {
  readonly format: string;
  readonly prefix: string;
  readonly step: number;
  readonly configName: string | null;
  /** SHA-256 of the config's JSON: a save into a folder of another config is refused. */
  readonly configHash?: string;
  readonly paramCount: number;
  readonly optStateCount: number;
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
};

import { buildTree, CheckpointCorrupt, matchConfig, matchTree } from "./_checkpoint_trees.ts";
import { CheckpointClash, checkSavable, configHash } from "./_checkpoint_guard.ts";
export { CheckpointCorrupt, CheckpointMismatch } from "./_checkpoint_trees.ts";
export { CheckpointClash, CheckpointWriteError } from "./_checkpoint_guard.ts";

const FORMAT = "mirasol-ts checkpoint v1: TensorFlow TensorBundle (tf.train.load_checkpoint reads it)";
const SIDECAR = "checkpoint.json";
const TF_STATE = "checkpoint";
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

const DTYPE_OF: Partial<Record<tf.DataType, BundleDtype>> = {
  float32: "float32",
  int32: "int32",
  bool: "bool",
};

async function leafEntry(key: string, leaf: tf.Tensor): Promise<BundleEntry> {
  const dtype = DTYPE_OF[leaf.dtype];
  if (!dtype) {
    throw new TypeError(
      `Cannot save checkpoint leaf '${key}': dtype ${leaf.dtype} is not float32, int32 or bool`,
    );
  }
  const values = await leaf.data();
  const data = dtype === "bool" ? Uint8Array.from(values as Uint8Array) : values as Float32Array | Int32Array;
  return { key, dtype, shape: [...leaf.shape], data };
}

/** Names this module writes in a checkpoint directory; nothing else there is ever deleted. */
const OURS = /^ckpt-[0-9_]+\.(index|data-\d{5}-of-\d{5})(\.tempstate[0-9a-f]+)?$/;
const OUR_TARGETS = new Set([TF_STATE, SIDECAR]);

// Only the prefix is needed to load; the rest is checked when present (hand-written sidecars lack it).
const Info = Schema.Struct({
  format: Schema.optional(Schema.String),
  prefix: Schema.String.check(
    Schema.makeFilter((p: string) => /^ckpt-[0-9_]+$/.test(p) || "Expected a bundle prefix ckpt-<step>"),
  ),
  step: Schema.optional(NonNegativeInt),
  configName: Schema.optional(Schema.NullOr(Schema.String)),
  configHash: Schema.optional(Schema.String),
  paramCount: Schema.optional(NonNegativeInt),
  optStateCount: Schema.optional(NonNegativeInt),
  files: Schema.optional(Schema.Array(Schema.Struct({ name: Schema.String, bytes: NonNegativeInt }))),
});
type StoredInfo = typeof Info.Type;

async function readInfo(dir: string): Promise<StoredInfo | null> {
  const file = `${dir}/${SIDECAR}`;
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof SyntaxError) throw new CheckpointCorrupt({ file, reason: `not JSON: ${e.message}` });
    throw e;
  }
  const info = decodeSyncResult(Info, raw, { root: SIDECAR });
  if (Result.isFailure(info)) throw new CheckpointCorrupt({ file, reason: info.failure });
  return info.success;
}

/**
 * Saves a checkpoint into `dir` (created if missing), replacing the one there atomically; returns
 * what checkpoint.json records. Tensors are read with `await data()`, so nothing blocks on a GPU.
 */
export async function saveCheckpoint<C>(
  dir: string,
  ckpt: Checkpoint<Tree<tf.Tensor>, Tree<tf.Tensor>, C>,
  opts: SaveOptions = {},
): Promise<CheckpointInfo> {
  // Everything is checked before the first byte is written: a bad save must not cost the last good one.
  const configJson = checkSavable(dir, ckpt);
  const hash = await configHash(configJson);
  const params = treeFlatten(ckpt.params);
  const optState = treeFlatten(ckpt.optState);
  const entries: BundleEntry[] = [];
  for (const [i, leaf] of params.leaves.entries()) {
    entries.push(await leafEntry(`params/${params.paths[i]}`, leaf));
  }
  for (const [i, leaf] of optState.leaves.entries()) {
    entries.push(await leafEntry(`opt_state/${optState.paths[i]}`, leaf));
  }
  entries.push(
    { key: "meta/step", dtype: "int64", shape: [], data: new BigInt64Array([BigInt(ckpt.step)]) },
    { key: "meta/key", dtype: "uint32", shape: [2], data: Uint32Array.from(ckpt.key) },
    { key: "meta/config", dtype: "string", shape: [], data: [utf8.encode(configJson)] },
    {
      key: "meta/structure",
      dtype: "string",
      shape: [],
      data: [utf8.encode(JSON.stringify({ params: params.treedef, opt_state: optState.treedef }))],
    },
  );

  const previous = await readInfo(dir).catch(() => null);
  if (previous && !opts.overwrite) {
    const other = previous.configHash !== undefined
      ? previous.configHash !== hash
      : (previous.configName ?? null) !== configName(ckpt.config);
    if (other) {
      throw new CheckpointClash({
        dir,
        stored: previous.configName ?? null,
        saving: configName(ckpt.config),
      });
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  await cleanStaleTemps(dir, (target) => OUR_TARGETS.has(target)); // temps of killed writers
  let prefix = `ckpt-${ckpt.step}`;
  for (let n = 1; prefix === previous?.prefix; n++) prefix = `ckpt-${ckpt.step}_${n}`;
  await writeBundle(`${dir}/${prefix}`, entries);
  await syncDir(dir);

  const files = await Promise.all(
    [indexPath(prefix), dataPath(prefix)].map(async (name) => ({
      name,
      bytes: (await Deno.stat(`${dir}/${name}`)).size,
    })),
  );
  const info: CheckpointInfo = {
    format: FORMAT,
    prefix,
    step: ckpt.step,
    configName: configName(ckpt.config),
    configHash: hash,
    paramCount: countParams(ckpt.params),
    optStateCount: countParams(ckpt.optState),
    files,
  };
  await writeFileAtomic(
    `${dir}/${TF_STATE}`,
    `model_checkpoint_path: "${prefix}"\nall_model_checkpoint_paths: "${prefix}"\n`,
  );
  await writeFileAtomic(`${dir}/${SIDECAR}`, JSON.stringify(info, null, 2) + "\n"); // the commit point
  await syncDir(dir);

  const keep = new Set(files.map((f) => f.name));
  for await (const e of Deno.readDir(dir)) { // the previous bundle, and leftovers of killed writers
    if (e.isFile && OURS.test(e.name) && !keep.has(e.name)) {
      await Deno.remove(`${dir}/${e.name}`).catch(() => {});
    }
  }
  return info;
}

export type SaveOptions = {
  /** Replace a checkpoint of another config in `dir` (default: refuse with CheckpointClash). */
  readonly overwrite?: boolean;
};

function configName(config: unknown): string | null {
  const name = (config as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : null;
}

export type LoadOptions<P, S, C> = {
  /** Fail with CheckpointMismatch unless the stored config equals this one (compared as JSON). */
  readonly config?: C;
  /**
   * The trees to load into (tensors or `{shape, dtype}` leaves, e.g. `paramShapes(config)`): every
   * leaf must be in the checkpoint with the same shape and dtype, and nothing more. The result has
   * their structure. Without it, trees are rebuilt from the paths (records; arrays where the keys
   * are 0..n-1).
   */
  readonly like?: { readonly params: P; readonly optState?: S };
};

/** Loads the checkpoint that `dir/checkpoint.json` names. The caller owns the returned tensors. */
export async function loadCheckpoint<P = Tree<tf.Tensor>, S = Tree<tf.Tensor>, C = unknown>(
  dir: string,
  opts: LoadOptions<P, S, C> = {},
): Promise<Checkpoint<MapLeaves<P, tf.Tensor>, MapLeaves<S, tf.Tensor>, C>> {
  const info = await readInfo(dir);
  if (!info) {
    throw new CheckpointCorrupt({
      file: `${dir}/${SIDECAR}`,
      reason: "not found (no checkpoint was committed here)",
    });
  }
  let bundle: Map<string, BundleEntry>;
  try {
    bundle = await readBundle(`${dir}/${info.prefix}`);
  } catch (e) {
    if (e instanceof BundleError) throw new CheckpointCorrupt({ file: e.file, reason: e.message });
    throw e;
  }
  const indexFile = `${dir}/${indexPath(info.prefix)}`;
  const meta = (key: string, dtype: BundleDtype) => {
    const e = bundle.get(key);
    if (!e || e.dtype !== dtype) {
      throw new CheckpointCorrupt({ file: indexFile, reason: `no ${dtype} entry '${key}'` });
    }
    return e.data;
  };
  const step = Number((meta("meta/step", "int64") as BigInt64Array)[0]);
  const key = keyFromWords(meta("meta/key", "uint32") as Uint32Array);
  const json = <T>(key: string): T => {
    try {
      return JSON.parse(fromUtf8.decode((meta(key, "string") as Uint8Array[])[0]));
    } catch (e) {
      if (e instanceof SyntaxError) {
        throw new CheckpointCorrupt({ file: indexFile, reason: `${key} is not JSON: ${e.message}` });
      }
      throw e;
    }
  };
  const config = json<C>("meta/config");
  // Written by saveCheckpoint; a bundle from elsewhere (the TF driver) may lack it.
  const structure = bundle.has("meta/structure")
    ? json<{ params: TreeDef; opt_state: TreeDef }>("meta/structure")
    : undefined;

  const group = (prefix: string) =>
    new Map([...bundle].filter(([k]) => k.startsWith(prefix)).map(([k, e]) => [k.slice(prefix.length), e]));
  const [paramEntries, stateEntries] = [group("params/"), group("opt_state/")];
  if (opts.like?.params !== undefined) {
    matchTree(dir, "params/", paramEntries, opts.like.params as Tree<Leaf>);
  }
  if (opts.like?.optState !== undefined) {
    matchTree(dir, "opt_state/", stateEntries, opts.like.optState as Tree<Leaf>);
  }
  if (opts.config !== undefined) matchConfig(dir, config, opts.config);

  const params = buildTree(
    indexFile,
    paramEntries,
    (opts.like?.params as Tree<Leaf> | undefined) ?? structure?.params,
  );
  const optState = buildTree(
    indexFile,
    stateEntries,
    (opts.like?.optState as Tree<Leaf> | undefined) ?? structure?.opt_state,
  );
  return { params, optState, step, key, config } as Checkpoint<
    MapLeaves<P, tf.Tensor>,
    MapLeaves<S, tf.Tensor>,
    C
  >;
}
