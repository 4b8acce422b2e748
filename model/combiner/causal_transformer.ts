/**
 * Causal Transformer Combiner (§3.2): R transformer layers over all video+audio tokens of all
 * chunks, with the chunk-causal mask of Eq. 8 (a token of chunk t sees every token of chunks <= t),
 * so x_t = Combiner(u_1..u_t) (Eq. 2). It keeps m of the n outputs of each chunk: the paper does not
 * say which; we keep the LAST m, as BLIP-3-Video describes its Mirasol-style causal Combiner
 * ("selecting the last m tokens") and lucidrains/mirasol-pytorch does (`combiner_output_num_tokens`).
 *
 * Letters: B batch, T chunks, n tokens per chunk, m outputs per chunk, D width.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../../transforms/random.ts";
import { combinerTokens, type MirasolConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkCausalMask } from "../masks.ts";
import { addChunkTime, flatten, lastTokens, unflatten } from "./chunk_time.ts";

export type CausalTransformerCombinerParams = { readonly layers: ReturnType<typeof transformer.initStack> };
export type CombinerOptions = { readonly config: MirasolConfig; readonly train: boolean; readonly key?: Key };

export function stackConfig(c: MirasolConfig, depth: number, cross = false): transformer.StackConfig {
  const { dim, heads, headDim, mlpHidden } = c.width;
  return {
    depth,
    block: {
      dim,
      heads,
      headDim,
      mlpHidden,
      dropout: c.dropout,
      ...(cross ? { cross: true, contextDim: dim } : {}),
    },
  };
}

/** R, for the Combiner kinds that have layers. */
export function combinerLayers(c: MirasolConfig): number {
  if (c.combiner.kind === "none") {
    throw new ConfigError({ action: "init Combiner layers", reason: "combiner.kind 'none' has no layers" });
  }
  return c.combiner.layers;
}

export function init(key: Key, c: MirasolConfig): CausalTransformerCombinerParams {
  const k = keysFor(key, ["layers"]);
  return { layers: transformer.initStack(k.layers, stackConfig(c, combinerLayers(c))) };
}

/** u [B, T, n, D] -> x [B, T, m, D]. */
export function apply(p: CausalTransformerCombinerParams, u: tf.Tensor, opts: CombinerOptions): tf.Tensor4D {
  const [, T, n] = u.shape;
  const y = transformer.applyStack(p.layers, flatten(addChunkTime(u)), {
    mask: chunkCausalMask(T, n), // [T*n, T*n]
    train: opts.train,
    key: opts.key,
    dropout: opts.config.dropout,
  }); // [B, T*n, D]
  return lastTokens(unflatten(y, T), combinerTokens(opts.config));
}
