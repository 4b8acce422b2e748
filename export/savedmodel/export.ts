/**
 * `exportSavedModel(spec, dir)`: traces each signature, lowers it to TensorFlow ops and writes a TF2
 * object-graph SavedModel (saved_model.pb + variables/ as a TensorBundle) that `tf.saved_model.load`
 * restores, differentiates, compiles with XLA and trains under a distribution strategy.
 *
 * Two parameter modes:
 * - `variables`: params become trainable tf.Variables restored from `variables/` (trained weights);
 * - `inputs`: params are keyword arguments of every signature, and `init(seed)` creates them in
 *   TensorFlow, so a 3B-parameter config is exported without writing a single weight.
 *
 * The export is atomic: everything is written into a sibling temp folder that is renamed into place
 * at the end; on any failure the temp folder is removed and `dir` is untouched.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { type BundleEntry, writeBundle } from "../../formats/tensor_bundle.ts";
import * as pb from "../../formats/proto.ts";
import { type Graph, trace, TraceError } from "../../transforms/trace.ts";
import { type Leaf, type MapLeaves, type ShapeDtype, treeFlatten, treeShapes, type Tree } from "../../transforms/tree.ts";
import { ExportSpecError, ExportWriteError, TraceFailedError, UnsupportedOpError, type ExportError } from "./errors.ts";
import {
  buildInitFunction,
  buildSignatureFunction,
  type BuiltFunction,
  conventionalInit,
  type InitRule,
  paramArgName,
  type ParamMode,
} from "./functions.ts";
import type { ComputeDtype } from "./lower.ts";
import { checkpointKey, checkpointObjectGraph, type ConcreteFunction, savedObjectGraph } from "./object_graph.ts";

export type SignatureSpec<P> = {
  /** A pure function of the params and named inputs, returning a tensor or a tree of tensors. */
  readonly fn: (params: P, inputs: Record<string, tf.Tensor>) => unknown;
  /** Keyword inputs with static shapes (`video: {shape: [2, 8, 32, 32, 3], dtype: "float32"}`). */
  readonly inputs: Readonly<Record<string, ShapeDtype>>;
};

/** `P` is the params tree the signatures receive (tensor leaves). */
export type SavedModelSpec<P> = {
  /** Tensors (their values are written in `variables` mode) or `{shape, dtype}` leaves (`inputs` mode). */
  readonly params: P | MapLeaves<P, ShapeDtype>;
  readonly signatures: Readonly<Record<string, SignatureSpec<P>>>;
  readonly paramMode?: ParamMode;
  /** "bfloat16": compute in bf16 inside the graph, keep float32 variables/inputs/outputs. */
  readonly computeDtype?: ComputeDtype;
  /** `inputs` mode: how init(seed) creates each param (default: conventionalInit). */
  readonly initRule?: (path: string, shape: readonly number[]) => InitRule;
  /** JSON-serialisable config stored in mirasol_export.json (the training driver copies it into checkpoints). */
  readonly config?: unknown;
};

/** Side file for the TensorFlow driver: param paths and keywords, and the config (TF ignores it). */
export const EXPORT_METADATA = "mirasol_export.json";

export type SavedModelReport = {
  readonly dir: string;
  readonly paramMode: ParamMode;
  readonly signatures: Readonly<Record<string, { readonly nodes: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }>>;
  readonly variables: number;
  readonly bytes: number;
};

/** TF 2.21's graph version is 2474; older consumers accept producer 1994 (see savedmodel-format.md). */
const GRAPH_VERSIONS = pb.message(pb.varint(1, 1994), pb.varint(2, 12));
const TF_VERSION = "2.21.0";

/** Traces one signature; a TraceError becomes a TraceFailedError naming the signature. */
export function traceSignature<P>(name: string, params: P | MapLeaves<P, ShapeDtype>, sig: SignatureSpec<P>): Effect.Effect<Graph, ExportError> {
  return Effect.try({
    try: () => trace((p, x) => sig.fn(p as P, x as Record<string, tf.Tensor>), treeShapes(params), sig.inputs),
    catch: (e) => {
      if (e instanceof TraceError) return new UnsupportedOpError({ op: e.op, layer: e.site.layer, source: e.site.source, reason: e.reason });
      return new TraceFailedError({ signature: name, reason: e instanceof Error ? e.message : String(e) });
    },
  });
}

function savedModelBytes(functions: readonly BuiltFunction[], objectGraph: Uint8Array): Uint8Array {
  const metaInfo = pb.message(pb.string(4, "serve"), pb.string(5, TF_VERSION), pb.bool(7, true));
  const library = pb.message(functions.map((f) => pb.bytes(1, f.def)));
  const graphDef = pb.message(pb.bytes(2, library), pb.bytes(4, GRAPH_VERSIONS));
  const metaGraph = pb.message(pb.bytes(1, metaInfo), pb.bytes(2, graphDef), pb.bytes(7, objectGraph));
  return pb.message(pb.varint(1, 1), pb.bytes(2, metaGraph));
}

async function leafEntry(leaf: Leaf, path: string): Promise<BundleEntry> {
  if (!(leaf instanceof tf.Tensor)) throw new ExportSpecError({ reason: `param '${path}' has no values ({shape, dtype} only); variables mode needs tensors, or use paramMode "inputs"` });
  const key = checkpointKey(path);
  if (leaf.dtype === "float32") return { key, dtype: "float32", shape: [...leaf.shape], data: (await leaf.data()) as Float32Array };
  if (leaf.dtype === "int32") return { key, dtype: "int32", shape: [...leaf.shape], data: (await leaf.data()) as Int32Array };
  throw new ExportSpecError({ reason: `param '${path}' has dtype ${leaf.dtype}; variables must be float32 or int32` });
}

/** Writes into `<dir>.tmp-<random>` with `write`, then renames it to `dir`; removes the temp folder on failure. */
export function writeAtomically<A>(dir: string, overwrite: boolean, write: (tmp: string) => Promise<A>): Effect.Effect<A, ExportWriteError> {
  const tmp = `${dir.replace(/\/+$/, "")}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const fail = (e: unknown) => new ExportWriteError({ path: dir, reason: e instanceof Error ? e.message : String(e) });
  const run = async () => {
    const exists = await Deno.stat(dir).then(() => true, () => false);
    if (exists && !overwrite) throw new Error("it already exists (pass overwrite: true to replace it)");
    await Deno.mkdir(tmp, { recursive: true });
    const result = await write(tmp);
    if (exists) {
      const old = `${tmp}.old`;
      await Deno.rename(dir, old);
      await Deno.rename(tmp, dir);
      await Deno.remove(old, { recursive: true });
    } else await Deno.rename(tmp, dir);
    return result;
  };
  return Effect.tryPromise({ try: run, catch: fail }).pipe(
    Effect.onError(() => Effect.promise(() => Deno.remove(tmp, { recursive: true }).catch(() => undefined))),
  );
}

export function exportSavedModel<P>(
  spec: SavedModelSpec<P>,
  dir: string,
  opts: { readonly overwrite?: boolean } = {},
): Effect.Effect<SavedModelReport, ExportError> {
  return Effect.gen(function* () {
    const paramMode = spec.paramMode ?? "variables";
    const computeDtype = spec.computeDtype ?? "float32";
    const names = Object.keys(spec.signatures).sort();
    if (names.length === 0) return yield* new ExportSpecError({ reason: "no signatures to export" });
    for (const n of [...names, "params", "signatures", "init", "variables", "trainable_variables"]) {
      if (!/^[a-z][a-z0-9_]*$/.test(n)) return yield* new ExportSpecError({ reason: `signature name '${n}' must match [a-z][a-z0-9_]*` });
    }
    const reserved = names.find((n) => ["params", "signatures", "init", "variables", "trainable_variables"].includes(n));
    if (reserved) return yield* new ExportSpecError({ reason: `signature name '${reserved}' is reserved` });
    const { leaves, paths } = treeFlatten(spec.params as Tree<Leaf>);
    if (paramMode === "variables") {
      const bad = leaves.findIndex((l) => !(l instanceof tf.Tensor) || (l.dtype !== "float32" && l.dtype !== "int32"));
      if (bad >= 0) {
        return yield* new ExportSpecError({
          reason: `param '${paths[bad]}' must be a float32 or int32 tensor in variables mode (got ${leaves[bad] instanceof tf.Tensor ? leaves[bad].dtype : "{shape, dtype} without values"}); use paramMode "inputs" to export from shapes`,
        });
      }
    }

    const built: BuiltFunction[] = [];
    const functions: Record<string, ConcreteFunction> = {};
    const report: Record<string, { nodes: number; inputs: readonly string[]; outputs: readonly string[] }> = {};
    for (const [i, name] of names.entries()) {
      const graph = yield* traceSignature(name, spec.params, spec.signatures[name]);
      const fn = yield* Effect.try({
        try: () => buildSignatureFunction(graph, { fnName: `__inference_${name}_${100 + i}`, paramMode, computeDtype }),
        catch: (e) => (e instanceof UnsupportedOpError || e instanceof ExportSpecError ? e : new ExportSpecError({ reason: String(e) })),
      });
      built.push(fn);
      functions[name] = fn.concrete;
      const out = fn.concrete.outputSignature;
      report[name] = { nodes: fn.nodeCount, inputs: fn.concrete.argumentKeywords, outputs: out.kind === "dict" ? Object.keys(out.fields).sort() : [] };
    }
    if (paramMode === "inputs") {
      const init = buildInitFunction(leaves.map((l, k) => ({ path: paths[k], shape: l.shape })), spec.initRule ?? conventionalInit, `__inference_init_${100 + names.length}`);
      built.push(init);
      functions.init = init.concrete;
    }
    const variables = paramMode === "variables" ? leaves.map((l, k) => ({ path: paths[k], shape: [...l.shape], dtype: l.dtype === "int32" ? "int32" as const : "float32" as const })) : [];
    const graphSpec = { variables, functions, signatures: names };
    const modelBytes = savedModelBytes(built, savedObjectGraph(graphSpec));
    const objectGraph: BundleEntry = { key: "_CHECKPOINTABLE_OBJECT_GRAPH", dtype: "string", shape: [], data: [checkpointObjectGraph(graphSpec)] };

    const bytes = yield* writeAtomically(dir, opts.overwrite ?? false, async (tmp) => {
      await Deno.mkdir(`${tmp}/variables`);
      await Deno.writeFile(`${tmp}/saved_model.pb`, modelBytes);
      await Deno.writeTextFile(`${tmp}/${EXPORT_METADATA}`, JSON.stringify({
        format: "mirasol-ts savedmodel v1",
        paramMode,
        computeDtype,
        signatures: report,
        params: leaves.map((l, k) => ({ path: paths[k], keyword: paramArgName(paths[k]), shape: [...l.shape], dtype: l.dtype })),
        config: spec.config ?? null,
      }, null, 1));
      const entries = paramMode === "variables" ? await Promise.all(leaves.map((l, k) => leafEntry(l, paths[k]))) : [];
      await writeBundle(`${tmp}/variables/variables`, [objectGraph, ...entries]);
      return modelBytes.length + entries.reduce((n, e) => n + (e.data as Float32Array).byteLength, 0);
    });
    return { dir, paramMode, signatures: report, variables: variables.length, bytes };
  });
}
