/**
 * Attention masks (true = may attend). The chunk-causal rule is the Mirasol3B paper's Sec. 3.3.1,
 * Eq. 8, whose printed formula is garbled; the rule it states is: token i may attend to token j iff
 * chunk(j) <= chunk(i), with chunk(k) = floor(k / tokensPerChunk). Tokens of one chunk see each
 * other in both directions and every earlier chunk, never a later one.
 *
 * The `*Bytes` forms compute masks on the host, one byte per entry (the oracle for tests and the
 * `boolean[][]` views for visualisation). The tensor forms of the chunk-causal masks compare per-token
 * chunk ids instead (`chunk(j) <= chunk(i)` by broadcasting), so an exported graph carries T*(q+k)
 * integers rather than a (T*n)^2 constant (33 MB per signature for paper3b); tests check both agree.
 *
 * Letters: T chunks, n tokens per chunk, q/k queries/keys per chunk, L text length.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ConfigError, requirePositiveInts } from "./errors.ts";

/** Row-major [rows, cols] bytes, 1 where the row (query) may attend to the column (key). */
export type MaskBytes = { readonly rows: number; readonly cols: number; readonly data: Uint8Array };

function build(rows: number, cols: number, allowed: (i: number, j: number) => boolean): MaskBytes {
  const data = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = allowed(i, j) ? 1 : 0;
  }
  return { rows, cols, data };
}

const toTensor = (m: MaskBytes): tf.Tensor2D => tf.tensor2d(m.data, [m.rows, m.cols], "bool");

/** The bytes as nested booleans, row by row (for tables and plots). */
export function maskToArray(m: MaskBytes): boolean[][] {
  return Array.from(
    { length: m.rows },
    (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols), (b) => b === 1),
  );
}

/** Chunk-causal self-attention mask as bytes: [T*n, T*n]. */
export function chunkCausalMaskBytes(numChunks: number, tokensPerChunk: number): MaskBytes {
  requirePositiveInts("build chunk-causal mask", { numChunks, tokensPerChunk });
  const len = numChunks * tokensPerChunk;
  const chunk = (k: number) => Math.floor(k / tokensPerChunk);
  return build(len, len, (i, j) => chunk(j) <= chunk(i));
}

/**
 * Chunk-causal cross-attention mask as bytes: [T*q, T*k]; the queries of chunk t (q per chunk) see
 * the keys of chunks <= t (k per chunk). The Combiner needs it: n inputs per chunk in, m outputs out.
 */
export function chunkCausalCrossMaskBytes(
  numChunks: number,
  queriesPerChunk: number,
  keysPerChunk: number,
): MaskBytes {
  requirePositiveInts("build chunk-causal cross mask", { numChunks, queriesPerChunk, keysPerChunk });
  return build(
    numChunks * queriesPerChunk,
    numChunks * keysPerChunk,
    (i, j) => Math.floor(j / keysPerChunk) <= Math.floor(i / queriesPerChunk),
  );
}

/**
 * Token-causal mask as bytes: [queries, keys], where the queries are the last `queries` of the
 * `keys` positions (query i sits at position keys - queries + i and sees keys up to it). With
 * queries = keys it is the usual lower-triangular mask; with a KV cache of S old positions and Tn
 * new tokens it is `causalMaskBytes(Tn, S + Tn)`.
 */
export function causalMaskBytes(queries: number, keys: number = queries): MaskBytes {
  requirePositiveInts("build causal mask", { queries, keys });
  if (queries > keys) {
    throw new ConfigError({
      action: "build causal mask",
      reason: `${queries} queries need at least as many keys, got ${keys}`,
    });
  }
  const offset = keys - queries;
  return build(queries, keys, (i, j) => j <= offset + i);
}

/** Chunk-causal self-attention mask, bool [T*n, T*n]: i may attend to j iff floor(j/n) <= floor(i/n). */
export function chunkCausalMask(numChunks: number, tokensPerChunk: number): tf.Tensor2D {
  requirePositiveInts("build chunk-causal mask", { numChunks, tokensPerChunk });
  return chunkCompare(numChunks, tokensPerChunk, tokensPerChunk);
}

/** Chunk-causal cross-attention mask, bool [T*q, T*k]: queries of chunk t see keys of chunks <= t. */
export function chunkCausalCrossMask(
  numChunks: number,
  queriesPerChunk: number,
  keysPerChunk: number,
): tf.Tensor2D {
  requirePositiveInts("build chunk-causal cross mask", { numChunks, queriesPerChunk, keysPerChunk });
  return chunkCompare(numChunks, queriesPerChunk, keysPerChunk);
}

/** chunk(key) <= chunk(query), from the chunk id of each query [T*q, 1] and each key [1, T*k]. */
function chunkCompare(numChunks: number, queriesPerChunk: number, keysPerChunk: number): tf.Tensor2D {
  const ids = (perChunk: number) =>
    Int32Array.from({ length: numChunks * perChunk }, (_, i) => Math.floor(i / perChunk));
  return tf.tidy(() =>
    tf.lessEqual(
      tf.tensor2d(ids(keysPerChunk), [1, numChunks * keysPerChunk], "int32"),
      tf.tensor2d(ids(queriesPerChunk), [numChunks * queriesPerChunk, 1], "int32"),
    )
  ) as tf.Tensor2D;
}

/** Token-causal mask, bool [queries, keys] (see `causalMaskBytes` for the offset used with a cache). */
export function causalMask(queries: number, keys: number = queries): tf.Tensor2D {
  return toTensor(causalMaskBytes(queries, keys));
}

/** Chunk-causal self-attention mask as nested booleans, for visualisation. */
export function chunkCausalMaskArray(numChunks: number, tokensPerChunk: number): boolean[][] {
  return maskToArray(chunkCausalMaskBytes(numChunks, tokensPerChunk));
}

/** Chunk-causal cross-attention mask as nested booleans, for visualisation. */
export function chunkCausalCrossMaskArray(
  numChunks: number,
  queriesPerChunk: number,
  keysPerChunk: number,
): boolean[][] {
  return maskToArray(chunkCausalCrossMaskBytes(numChunks, queriesPerChunk, keysPerChunk));
}
