/**
 * Text decoder (§3.4, Eq. 9): an autoregressive transformer over the text tokens; each block has
 * causal self-attention, cross-attention to ALL of h = (h_1..h_T) (the text is not time-aligned, so
 * it sees every chunk), and an MLP. Logits through the tied input embedding or a separate `output`.
 * Learned positions sized by `text.maxLength` (not by frames).
 *
 * Letters: B batch, L text length, T chunks, m tokens per chunk, D audio+video width, Dt text width, V vocab.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../transforms/random.ts";
import { flatten } from "./combiner/chunk_time.ts";
import type { MirasolConfig } from "./config.ts";
import * as dense from "./layers/dense.ts";
import * as embedding from "./layers/embedding.ts";
import * as position from "./layers/position.ts";
import * as transformer from "./layers/transformer.ts";
import { causalMask } from "./masks.ts";

export type TextDecoderParams = {
  readonly embed: ReturnType<typeof embedding.init>;
  readonly pos: ReturnType<typeof position.initLearned>;
  readonly layers: ReturnType<typeof transformer.initStack>;
  /** Only when `tieEmbeddings` is false: [Dt, V]. */
  readonly output?: ReturnType<typeof dense.init>;
};

export function stackConfig(c: MirasolConfig): transformer.StackConfig {
  const t = c.text;
  return {
    depth: t.depth,
    block: {
      dim: t.dim,
      heads: t.heads,
      headDim: t.headDim,
      mlpHidden: t.mlpHidden,
      cross: true,
      contextDim: c.width.dim,
      dropout: c.dropout,
    },
  };
}

export function init(key: Key, c: MirasolConfig): TextDecoderParams {
  const k = keysFor(key, ["embed", "pos", "layers", "output"]);
  const t = c.text;
  const p: TextDecoderParams = {
    embed: embedding.init(k.embed, { vocab: t.vocab, dim: t.dim }),
    pos: position.initLearned(k.pos, { len: t.maxLength, dim: t.dim }),
    layers: transformer.initStack(k.layers, stackConfig(c)),
  };
  return t.tieEmbeddings ? p : { ...p, output: dense.init(k.output, { inDim: t.dim, outDims: [t.vocab] }) };
}

/**
 * Self-attention mask bool [B, 1, L, L]: causal, and padding hidden as a key. A query always sees
 * itself, so a padding query's row is never empty.
 */
export function selfMask(textMask: tf.Tensor): tf.Tensor {
  const [B, L] = textMask.shape;
  return tf.tidy(() => {
    const valid = tf.reshape(tf.greater(tf.cast(textMask, "float32"), 0), [B, 1, 1, L]); // keys
    const self = tf.cast(tf.eye(L), "bool"); // [L, L]
    return tf.logicalAnd(causalMask(L), tf.logicalOr(valid, self)); // [B, 1, L, L]
  });
}

/** text ids [B, L], textMask [B, L], h [B, T, m, D] -> logits [B, L, V]; logits[:, l] predict text[:, l+1]. */
export function apply(
  p: TextDecoderParams,
  text: tf.Tensor,
  textMask: tf.Tensor,
  h: tf.Tensor,
  opts: { readonly train: boolean; readonly key?: Key; readonly dropout?: number },
): tf.Tensor3D {
  const L = (text as tf.Tensor2D).shape[1];
  const Dt = p.pos.table.shape[1];
  const x = tf.add(
    embedding.apply(p.embed, text),
    tf.reshape(tf.slice(p.pos.table, [0, 0], [L, Dt]), [1, L, Dt]),
  ); // [B, L, Dt]
  const y = transformer.applyStack(p.layers, x as tf.Tensor3D, {
    mask: selfMask(textMask),
    context: flatten(h), // [B, T*m, D]: all chunks
    train: opts.train,
    key: opts.key,
    dropout: opts.dropout,
  }); // [B, L, Dt]
  return (p.output ? dense.apply(p.output, y) : embedding.attend(p.embed, y)) as tf.Tensor3D; // [B, L, V]
}
