/**
 * Token embedding with a tied read-out: `apply` looks ids up in the table, `attend` scores a vector
 * against every row (logits over the vocabulary), as Flax's nn.Embed.attend.
 *
 * Init: truncated normal with variance 1/D (Flax's default_embed_init: variance scaling over the
 * embedding width), so embeddings start at unit scale per token.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { lecunNormal } from "../../transforms/initializers.ts";
import { DTypeError, requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";

export type EmbeddingConfig = { readonly vocab: number; readonly dim: number };
/** table: [V, D] */
export type EmbeddingParams = { readonly table: tf.Tensor2D };

export function init(key: Key, c: EmbeddingConfig): EmbeddingParams {
  requirePositiveInts("init embedding", { vocab: c.vocab, dim: c.dim });
  const k = keysFor(key, ["table"]);
  return { table: lecunNormal(k.table, [c.vocab, c.dim], { fanIn: c.dim, fanOut: c.vocab }) as tf.Tensor2D };
}

/**
 * ids: int32 [...] -> [..., D]. Ids must lie in [0, V): tfjs backends differ on out-of-range ids
 * (zeros on some, garbage on others), and checking would mean reading the ids back to the host.
 */
export function apply(p: EmbeddingParams, ids: tf.Tensor): tf.Tensor {
  if (ids.dtype !== "int32") {
    throw new DTypeError({ op: "embedding", input: "ids", expected: "int32", got: ids.dtype });
  }
  const [, D] = p.table.shape;
  return tf.tidy(() => {
    const flat = tf.reshape(ids, [ids.size]); // [N]
    return tf.reshape(tf.gather(p.table, flat, 0), [...ids.shape, D]); // [..., D]
  });
}

/** Tied output logits: x [..., D] -> [..., V] = x . table^T. */
export function attend(p: EmbeddingParams, x: tf.Tensor): tf.Tensor {
  const [V, D] = p.table.shape;
  const dims = expectShape(x, ["...", D], "embedding.attend", "x");
  const lead = dims.slice(0, -1);
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [lead.reduce((a, b) => a * b, 1), D]); // [N, D]
    return tf.reshape(tf.matMul(x2, p.table, false, true), [...lead, V]); // [..., V]
  });
}
