/**
 * Reads a SentencePiece `.model` file's ModelProto with the code generated from the schema in the
 * sentencepiece wheel (formats/protos/sentencepiece/sentencepiece_model.proto), and returns the
 * fields segmentation needs as a plain record. The schema is proto2: unset fields take the
 * schema's defaults (`pad_id` -1, `add_dummy_prefix` true, ...), also when a whole TrainerSpec or
 * NormalizerSpec is missing. Unknown fields are skipped, so newer .model files with extra fields
 * still load.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  NormalizerSpecSchema,
  TrainerSpecSchema,
} from "../../formats/protos/sentencepiece/sentencepiece_model_pb.ts";

/** A piece as stored: `type` is ModelProto.SentencePiece.Type (NORMAL 1 ... BYTE 6). */
export type StoredPiece = { readonly text: string; readonly score: number; readonly type: number };

export type SentencePieceProto = {
  readonly pieces: readonly StoredPiece[];
  /** TrainerSpec.ModelType: UNIGRAM 1, BPE 2, WORD 3, CHAR 4 */
  readonly modelType: number;
  readonly byteFallback: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  readonly ids: { readonly unk: number; readonly bos: number; readonly eos: number; readonly pad: number };
  /** TrainerSpec's bos/eos/pad piece texts (the library finds the special ids by these). */
  readonly names: { readonly bos: string; readonly eos: string; readonly pad: string };
  readonly unkSurface: string;
  readonly precompiledCharsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
};

export class ProtobufReadError extends Error {
  constructor(readonly reason: string) {
    super(`Cannot read a ModelProto: ${reason}`);
    this.name = "ProtobufReadError";
  }
}

/** Decodes a ModelProto; throws `ProtobufReadError` for bytes that are not a valid protobuf message. */
export function readSentencePieceProto(bytes: Uint8Array): SentencePieceProto {
  let model;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new ProtobufReadError((e as Error).message);
  }
  const trainer = model.trainerSpec ?? create(TrainerSpecSchema);
  const normalizer = model.normalizerSpec ?? create(NormalizerSpecSchema);
  return {
    pieces: model.pieces.map((p) => ({ text: p.piece, score: p.score, type: p.type })),
    modelType: trainer.modelType,
    byteFallback: trainer.byteFallback,
    treatWhitespaceAsSuffix: trainer.treatWhitespaceAsSuffix,
    ids: { unk: trainer.unkId, bos: trainer.bosId, eos: trainer.eosId, pad: trainer.padId },
    names: { bos: trainer.bosPiece, eos: trainer.eosPiece, pad: trainer.padPiece },
    unkSurface: trainer.unkSurface,
    precompiledCharsmap: normalizer.precompiledCharsmap,
    addDummyPrefix: normalizer.addDummyPrefix,
    removeExtraWhitespaces: normalizer.removeExtraWhitespaces,
    escapeWhitespaces: normalizer.escapeWhitespaces,
  };
}
