/**
 * `fingerprint.pb` (fingerprint.proto): the hashes TensorFlow uses to identify a SavedModel
 * (`tf.saved_model.experimental.read_fingerprint`, the loader's metrics), computed as TF 2.21's
 * `fingerprinting::CreateFingerprintDef` computes them for a `saved_model.pb`:
 * - saved_model_checksum: Fingerprint64 of the deterministic SavedModel bytes;
 * - graph_def_program_hash: of the GraphDef without its library and versions, with call nodes'
 *   function names stripped of their numeric suffix, `config_proto`s emptied and string Consts'
 *   values cleared (graph/regularization/simple_delete.cc);
 * - signature_def_hash: FingerprintCat64 over the signatures sorted by key, of each key and SignatureDef;
 * - saved_object_graph_hash: the same over the concrete functions ordered by their suffix number,
 *   of each name (suffix stripped) and SavedConcreteFunction;
 * - checkpoint_hash: Fingerprint64 of `variables/variables.index`.
 * Fingerprint64 is FarmHash's (npm farmhash-modern). tests/export check every field against
 * TensorFlow's own CreateFingerprintDef of the exported directory.
 */
import { clone, create } from "@bufbuild/protobuf";
import { fingerprint64 } from "farmhash-modern";
import { toBinaryDeterministic } from "../../formats/deterministic.ts";
import { AttrValueSchema } from "../../formats/protos/tensorflow/core/framework/attr_value_pb.ts";
import { GraphDefSchema } from "../../formats/protos/tensorflow/core/framework/graph_pb.ts";
import { NodeDefSchema } from "../../formats/protos/tensorflow/core/framework/node_def_pb.ts";
import { DataType } from "../../formats/protos/tensorflow/core/framework/types_pb.ts";
import {
  type FingerprintDef,
  FingerprintDefSchema,
} from "../../formats/protos/tensorflow/core/protobuf/fingerprint_pb.ts";
import { SignatureDefSchema } from "../../formats/protos/tensorflow/core/protobuf/meta_graph_pb.ts";
import { SavedConcreteFunctionSchema } from "../../formats/protos/tensorflow/core/protobuf/saved_object_graph_pb.ts";
import type { SavedModel } from "../../formats/protos/tensorflow/core/protobuf/saved_model_pb.ts";

/** The fingerprinting code version TF 2.21 writes for a saved_model.pb; these hashes follow its rules. */
const FINGERPRINT_PRODUCER = 4;
const M64 = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

const fp64 = (bytes: Uint8Array | string): bigint =>
  fingerprint64(typeof bytes === "string" ? utf8.encode(bytes) : bytes);
const shiftMix = (v: bigint) => v ^ (v >> 47n);

/** tsl/platform/fingerprint.h FingerprintCat64: combines two fingerprints (not commutative). */
export function fingerprintCat64(fp1: bigint, fp2: bigint): bigint {
  const kMul = 0xc6a4a7935bd1e995n;
  let r = fp1 ^ kMul;
  r ^= (shiftMix((fp2 * kMul) & M64) * kMul) & M64;
  r = (r * kMul) & M64;
  r = (shiftMix(r) * kMul) & M64;
  return shiftMix(r);
}

/** GetSuffixUID: the integer after a name's last "_", if it is one. */
function suffixUid(name: string): string | undefined {
  const last = name.split("_").at(-1)!;
  return /^[+-]?\d+$/.test(last) ? last : undefined;
}

function graphProgramHash(model: SavedModel): bigint {
  const nodes = (model.metaGraphs[0].graphDef?.node ?? []).map((n) => {
    const node = clone(NodeDefSchema, n);
    if (node.op === "PartitionedCall" || node.op === "StatefulPartitionedCall") {
      const f = node.attr.f?.value;
      if (f?.case === "func") {
        const uid = suffixUid(f.value.name);
        if (uid !== undefined) f.value.name = f.value.name.slice(0, -String(BigInt(uid)).length);
      }
      if (node.attr.config_proto) {
        node.attr.config_proto = create(AttrValueSchema, { value: { case: "s", value: new Uint8Array(0) } });
      }
    }
    const dtype = node.attr.dtype?.value;
    if (node.op === "Const" && dtype?.case === "type" && dtype.value === DataType.DT_STRING) {
      node.attr.value = create(AttrValueSchema);
    }
    return node;
  });
  const graph = create(GraphDefSchema, { node: nodes, library: {}, versions: {} });
  return fp64(toBinaryDeterministic(GraphDefSchema, graph));
}

function signatureDefHash(model: SavedModel): bigint {
  const defs = model.metaGraphs[0].signatureDef;
  let h = 0n;
  for (const key of Object.keys(defs).sort()) {
    h = fingerprintCat64(h, fp64(key));
    h = fingerprintCat64(h, fp64(toBinaryDeterministic(SignatureDefSchema, defs[key])));
  }
  return h;
}

function objectGraphHash(model: SavedModel): bigint {
  const fns = model.metaGraphs[0].objectGraphDef?.concreteFunctions ?? {};
  const byUid = new Map<bigint, string>();
  for (const name of Object.keys(fns)) {
    const uid = suffixUid(name);
    if (uid === undefined) {
      throw new Error(`Cannot fingerprint function '${name}': its name does not end in an integer`);
    }
    if (!byUid.has(BigInt(uid))) byUid.set(BigInt(uid), name);
  }
  let h = 0n;
  for (const uid of [...byUid.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = byUid.get(uid)!;
    h = fingerprintCat64(h, fp64(name.slice(0, -String(uid).length)));
    h = fingerprintCat64(h, fp64(toBinaryDeterministic(SavedConcreteFunctionSchema, fns[name])));
  }
  return h;
}

/** A random 128-bit number in decimal, as TensorFlow's CreateRandomUUID writes one per save. */
function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n).toString();
}

/** The FingerprintDef of a SavedModel whose saved_model.pb is `modelBytes` and variables.index is `index`. */
export function fingerprintDef(
  model: SavedModel,
  modelBytes: Uint8Array,
  index: Uint8Array | undefined,
): FingerprintDef {
  return create(FingerprintDefSchema, {
    savedModelChecksum: fp64(modelBytes),
    graphDefProgramHash: graphProgramHash(model),
    signatureDefHash: signatureDefHash(model),
    savedObjectGraphHash: objectGraphHash(model),
    checkpointHash: index ? fp64(index) : 0n,
    uuid: randomUuid(),
    version: { producer: FINGERPRINT_PRODUCER },
  });
}
