/**
 * `exportSavedModel(spec, dir)`: traces each signature, lowers it to TensorFlow ops and writes a TF2
 * object-graph SavedModel (saved_model.pb + variables/ as a TensorBundle) that `tf.saved_model.load`
 * restores, differentiates, compiles with XLA and trains under a distribution strategy.
 *
 * Besides the object graph, the MetaGraphDef carries what TensorFlow itself writes for other
 * consumers (meta_graph.ts): signature_defs (`serving_default` = `forward`), graph nodes, a saver
 * and `fingerprint.pb`, so saved_model_cli, the C++/TF Serving loader, TFLite and tf2onnx read it.
 *
 * Two parameter modes:
 * - `variables`: params become trainable tf.Variables restored from `variables/` (trained weights);
 * - `inputs`: params are keyword arguments of every signature, and `init(seed)` creates them in
 *   TensorFlow, so a 3B-parameter config is exported without writing a single weight.
 *
 * The export is atomic: everything is written into a sibling temp folder that is renamed into place
 * at the end; on any failure the temp folder is removed and `dir` is untouched.
 */
import { AtomicWriteError, cleanStaleTemps, writeDirAtomic } from "../../formats/atomic_write.ts";
import { create } from "@bufbuild/protobuf";
import * as tf from "@tensorflow/tfjs-core";
import { decayByDefault } from "../../transforms/optim/adamw.ts";
import { Effect } from "effect";
import { toBinaryDeterministic } from "../../formats/deterministic.ts";
import { FingerprintDefSchema } from "../../formats/protos/tensorflow/core/protobuf/fingerprint_pb.ts";
import { SavedModelSchema } from "../../formats/protos/tensorflow/core/protobuf/saved_model_pb.ts";
import { TrackableObjectGraphSchema } from "../../formats/protos/tensorflow/core/protobuf/trackable_object_graph_pb.ts";
import { type BundleEntry, indexPath, writeBundle } from "../../formats/tensor_bundle.ts";
import { type Graph, trace, TraceError } from "../../transforms/trace.ts";
import {
  type Leaf,
  type MapLeaves,
  type ShapeDtype,
  type Tree,
  treeFlatten,
  treeShapes,
} from "../../transforms/tree.ts";
import {
  type ExportError,
  ExportSpecError,
  ExportWriteError,
  TraceFailedError,
  UnsupportedOpError,
} from "./errors.ts";
import {
  buildInitFunction,
  buildSignatureFunction,
  type BuiltFunction,
  conventionalInit,
  type InitRule,
  paramArgName,
  type ParamMode,
} from "./functions.ts";
import { fingerprintDef } from "./fingerprint.ts";
import type { ComputeDtype } from "./lower.ts";
import { metaGraph } from "./meta_graph.ts";
import { checkNodes } from "./op_defs.ts";
import { checkpointKey, checkpointObjectGraph, savedObjectGraph, type VariableLeaf } from "./object_graph.ts";
import { buildRestoreFunction, buildSaveFunction, OBJECT_GRAPH_KEY } from "./saver.ts";
import { buildSignatureWrapper } from "./signatures.ts";
import type { ConcreteFunction } from "./functions.ts";

export type SignatureSpec<P> = {
  /** A pure function of the params and named inputs, returning a tensor or a tree of tensors. */
  readonly fn: (params: P, inputs: Record<string, tf.Tensor>) => unknown;
  /** Keyword inputs with static shapes (`video: {shape: [2, 8, 32, 32, 3], dtype: "float32"}`). */
  readonly inputs: Readonly<Record<string, ShapeDtype>>;
  /**
   * Inputs and outputs holding PRNG key words (a `tensorKey`'s int32 [2], or several stacked): traced
   * as int32, exported as uint32 with the same bits, the dtype jax keys and `PRNGKey` words have.
   */
  readonly words?: readonly string[];
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
  /**
   * The signature TensorFlow serves by default (`serving_default`, what saved_model_cli, TF Serving
   * and the converters pick when none is named): default `forward`, or the only signature; `null`
   * for none.
   */
  readonly servingDefault?: string | null;
};

/** Side file for the TensorFlow driver: param paths and keywords, and the config (TF ignores it). */
export const EXPORT_METADATA = "mirasol_export.json";

export type SavedModelReport = {
  readonly dir: string;
  readonly paramMode: ParamMode;
  /** The signature `serving_default` serves, if any. */
  readonly servingDefault: string | null;
  readonly signatures: Readonly<
    Record<
      string,
      { readonly nodes: number; readonly inputs: readonly string[]; readonly outputs: readonly string[] }
    >
  >;
  readonly variables: number;
  readonly bytes: number;
};

const SERVING_DEFAULT = "serving_default";
const RESERVED = ["params", "signatures", "init", "variables", "trainable_variables", SERVING_DEFAULT];

/** Traces one signature; a TraceError becomes a TraceFailedError naming the signature. */
export function traceSignature<P>(
  name: string,
  params: P | MapLeaves<P, ShapeDtype>,
  sig: SignatureSpec<P>,
): Effect.Effect<Graph, ExportError> {
  return Effect.try({
    try: () =>
      trace((p, x) => sig.fn(p as P, x as Record<string, tf.Tensor>), treeShapes(params), sig.inputs),
    catch: (e) => {
      if (e instanceof TraceError) {
        return new UnsupportedOpError({
          op: e.op,
          layer: e.site.layer,
          source: e.site.source,
          reason: e.reason,
        });
      }
      return new TraceFailedError({ signature: name, reason: e instanceof Error ? e.message : String(e) });
    },
  });
}

async function leafEntry(leaf: Leaf, path: string): Promise<BundleEntry> {
  if (!(leaf instanceof tf.Tensor)) {
    throw new ExportSpecError({
      reason:
        `param '${path}' has no values ({shape, dtype} only); variables mode needs tensors, or use paramMode "inputs"`,
    });
  }
  const key = checkpointKey(path);
  if (leaf.dtype === "float32") {
    return { key, dtype: "float32", shape: [...leaf.shape], data: (await leaf.data()) as Float32Array };
  }
  if (leaf.dtype === "int32") {
    return { key, dtype: "int32", shape: [...leaf.shape], data: (await leaf.data()) as Int32Array };
  }
  throw new ExportSpecError({
    reason: `param '${path}' has dtype ${leaf.dtype}; variables must be float32 or int32`,
  });
}

/**
 * Writes into a temp folder beside `dir` (`<dir>.tmp-<pid>-<hex>`) with `write`, then renames it to
 * `dir` (formats/atomic_write.ts); on failure the temp folder is removed and `dir` is untouched.
 * Temp folders of exports killed earlier (their pid is dead) are removed first.
 */
export function writeAtomically<A>(
  dir: string,
  overwrite: boolean,
  write: (tmp: string) => Promise<A>,
): Effect.Effect<A, ExportWriteError> {
  const target = dir.replace(/\/+$/, "");
  const slash = target.lastIndexOf("/");
  const [parent, name] = slash < 0 ? [".", target] : [target.slice(0, slash) || "/", target.slice(slash + 1)];
  const run = async () => {
    await cleanStaleTemps(parent, (t) => t === name);
    return await writeDirAtomic(target, write, { overwrite });
  };
  return Effect.tryPromise({
    try: run,
    catch: (e) =>
      new ExportWriteError({
        path: dir,
        reason: e instanceof AtomicWriteError
          ? (e.exists ? "it already exists (pass overwrite: true to replace it)" : e.reason)
          : e instanceof Error
          ? e.message
          : String(e),
      }),
  });
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
    for (const n of names) {
      if (!/^[a-z][a-z0-9_]*$/.test(n)) {
        return yield* new ExportSpecError({ reason: `signature name '${n}' must match [a-z][a-z0-9_]*` });
      }
    }
    const reserved = names.find((n) => RESERVED.includes(n));
    if (reserved) return yield* new ExportSpecError({ reason: `signature name '${reserved}' is reserved` });
    const servingDefault = spec.servingDefault === undefined
      ? (names.includes("forward") ? "forward" : names.length === 1 ? names[0] : null)
      : spec.servingDefault;
    if (servingDefault !== null && !names.includes(servingDefault)) {
      return yield* new ExportSpecError({
        reason: `servingDefault '${servingDefault}' is not one of the signatures (${names.join(", ")})`,
      });
    }
    const { leaves, paths } = treeFlatten(spec.params as Tree<Leaf>);
    if (paramMode === "variables") {
      const bad = leaves.findIndex((l) =>
        !(l instanceof tf.Tensor) || (l.dtype !== "float32" && l.dtype !== "int32")
      );
      if (bad >= 0) {
        return yield* new ExportSpecError({
          reason: `param '${paths[bad]}' must be a float32 or int32 tensor in variables mode (got ${
            leaves[bad] instanceof tf.Tensor ? leaves[bad].dtype : "{shape, dtype} without values"
          }); use paramMode "inputs" to export from shapes`,
        });
      }
    }

    // Function names end in a unique number, as TensorFlow's do (fingerprinting orders by it).
    let uid = 100;
    const fnName = (base: string) => `__inference_${base}_${uid++}`;
    const built: BuiltFunction[] = [];
    const functions: Record<string, ConcreteFunction> = {};
    const report: Record<string, { nodes: number; inputs: readonly string[]; outputs: readonly string[] }> =
      {};
    for (const name of names) {
      const graph = yield* traceSignature(name, spec.params, spec.signatures[name]);
      const fn = yield* Effect.try({
        try: () =>
          buildSignatureFunction(graph, {
            fnName: fnName(name),
            paramMode,
            computeDtype,
            words: spec.signatures[name].words,
          }),
        catch: (
          e,
        ) => (e instanceof UnsupportedOpError || e instanceof ExportSpecError
          ? e
          : new ExportSpecError({ reason: String(e) })),
      });
      built.push(fn);
      functions[name] = fn.concrete;
      report[name] = {
        nodes: fn.nodeCount,
        inputs: fn.concrete.inputs.map((i) => i.name),
        outputs: fn.concrete.outputs.map((o) => o.name),
      };
    }
    if (paramMode === "inputs") {
      const init = buildInitFunction(
        leaves.map((l, k) => ({ path: paths[k], shape: l.shape })),
        spec.initRule ?? conventionalInit,
        fnName("init"),
      );
      built.push(init);
      functions.init = init.concrete;
    }
    const variables: VariableLeaf[] = paramMode === "variables"
      ? leaves.map((l, k) => ({
        path: paths[k],
        shape: [...l.shape],
        dtype: l.dtype === "int32" ? "int32" as const : "float32" as const,
      }))
      : [];
    const byPath = new Map(variables.map((v) => [v.path, v]));
    // One wrapper per signature key, serving_default first: what tf.saved_model.save writes for
    // signatures={"serving_default": m.forward, "forward": m.forward, ...}.
    const signatures: Record<string, ConcreteFunction> = {};
    for (
      const [key, name] of [
        ...(servingDefault === null ? [] : [[SERVING_DEFAULT, servingDefault]]),
        ...names.map((n) => [n, n]),
      ]
    ) {
      const wrapper = buildSignatureWrapper(functions[name], fnName(`signature_wrapper_${name}`), byPath);
      built.push(wrapper);
      signatures[key] = wrapper.concrete;
    }
    const keys = variables.map((v) => checkpointKey(v.path));
    const save = buildSaveFunction(variables, keys, fnName("_traced_save"));
    const restore = buildRestoreFunction(variables, keys, fnName("_traced_restore"));
    built.push(save, restore);

    const graphSpec = { variables, functions, signatures };
    const checkpointGraph = toBinaryDeterministic(
      TrackableObjectGraphSchema,
      checkpointObjectGraph(graphSpec),
    );
    const model = create(SavedModelSchema, {
      savedModelSchemaVersion: 1n,
      metaGraphs: [metaGraph({
        variables,
        signatures,
        library: built.map((f) => f.def),
        save: save.concrete,
        restore: restore.concrete,
        checkpointGraph,
        objectGraph: savedObjectGraph(graphSpec),
      })],
    });
    const graphDef = model.metaGraphs[0].graphDef!;
    const problems = [
      ...checkNodes("graph", graphDef.node, false),
      ...graphDef.library!.function.flatMap((f) => checkNodes(f.signature!.name, f.nodeDef, true)),
    ];
    if (problems.length > 0) {
      const p = problems[0];
      return yield* new UnsupportedOpError({
        op: p.op,
        layer: p.node,
        source: p.fn,
        reason: `${p.reason}${problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : ""}`,
      });
    }
    const modelBytes = toBinaryDeterministic(SavedModelSchema, model);
    const objectGraph: BundleEntry = {
      key: OBJECT_GRAPH_KEY,
      dtype: "string",
      shape: [],
      data: [checkpointGraph],
    };

    const bytes = yield* writeAtomically(dir, opts.overwrite ?? false, async (tmp) => {
      await Deno.mkdir(`${tmp}/variables`);
      await Deno.writeFile(`${tmp}/saved_model.pb`, modelBytes);
      await Deno.writeTextFile(
        `${tmp}/${EXPORT_METADATA}`,
        JSON.stringify(
          {
            format: "mirasol-ts savedmodel v1",
            paramMode,
            computeDtype,
            signatures: report,
            params: leaves.map((l, k) => ({
              path: paths[k],
              keyword: paramArgName(paths[k]),
              shape: [...l.shape],
              dtype: l.dtype,
              // The AdamW decay mask train/ uses, so the TensorFlow driver decays the same leaves.
              decay: decayByDefault(paths[k], l),
            })),
            config: spec.config ?? null,
          },
          null,
          1,
        ),
      );
      const entries = paramMode === "variables"
        ? await Promise.all(leaves.map((l, k) => leafEntry(l, paths[k])))
        : [];
      await writeBundle(`${tmp}/variables/variables`, [objectGraph, ...entries]);
      const index = await Deno.readFile(indexPath(`${tmp}/variables/variables`));
      await Deno.writeFile(
        `${tmp}/fingerprint.pb`,
        toBinaryDeterministic(FingerprintDefSchema, fingerprintDef(model, modelBytes, index)),
      );
      return modelBytes.length + entries.reduce((n, e) => n + (e.data as Float32Array).byteLength, 0);
    });
    return { dir, paramMode, servingDefault, signatures: report, variables: variables.length, bytes };
  });
}
