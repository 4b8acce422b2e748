/**
 * The text decoder (text_decoder.ts) run incrementally, for generation: cross-attention keys/values
 * of h are projected once per sequence, and every block keeps a self-attention key/value cache that
 * grows by the tokens fed, so a new token costs one decoder step, not a re-run over the prefix.
 * Same params and the same arithmetic as `textDecoder.apply` (tests compare both).
 *
 * Prompts of different lengths share one batch by LEFT padding: row b starts with `pad[b]` filler
 * slots whose keys no query may see, and its positions count from its first real token, so each
 * row computes what it would compute alone (masked logits get -1e9, so their weight is exactly 0).
 *
 * Letters: B rows, T chunks, m tokens per chunk, S slots fed so far, Tn new tokens, V vocab,
 * H heads, Dh head width, Dt text width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { flatten } from "./combiner/chunk_time.ts";
import { ConfigError } from "./errors.ts";
import type { KVCache } from "./layers/attention.ts";
import * as dense from "./layers/dense.ts";
import * as embedding from "./layers/embedding.ts";
import * as transformer from "./layers/transformer.ts";
import type { TextDecoderParams } from "./text_decoder.ts";

export type DecoderCache = {
  /** Cross-attention keys/values of h, one per block: [B, H, T*m, Dh]; projected once. */
  readonly cross: readonly KVCache[];
  /** Self-attention keys/values of every fed slot, one per block: [B, H, S, Dh]; null before any. */
  readonly self: readonly KVCache[] | null;
  /** S: slots fed so far, padding included (the same for every row). */
  readonly slots: number;
  /** Per row: the left-padding slots in front of its prompt (hidden as keys, never positions). */
  readonly pad: readonly number[];
};

/** An empty cache over the context h [B, T, m, D]: only the cross keys/values, projected now. */
export function startCache(p: TextDecoderParams, h: tf.Tensor): DecoderCache {
  const B = h.shape[0];
  const cross = tf.tidy(() => transformer.stackCrossKV(p.layers, flatten(h))); // [B, H, T*m, Dh] per block
  return { cross, self: null, slots: 0, pad: new Array(B).fill(0) };
}

/** The text positions the table holds (`text.maxLength`). */
export function maxPositions(p: TextDecoderParams): number {
  return p.pos.table.shape[0];
}

/**
 * Self-attention mask for Tn new slots after S cached ones, bool [B, 1, Tn, S+Tn], or undefined when
 * every new token may see every slot (one new token, no padding). Query i (slot S+i) of row b sees
 * slot j iff j <= S+i and j is not padding (a padding query sees itself, so no row is empty).
 */
function selfMask(S: number, Tn: number, pad: readonly number[]): tf.Tensor | undefined {
  const padded = pad.some((k) => k > 0);
  if (!padded && Tn === 1) return undefined;
  const B = pad.length, keys = S + Tn;
  const bytes = new Uint8Array(B * Tn * keys);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) {
      const q = S + i;
      for (let j = 0; j <= q; j++) bytes[(b * Tn + i) * keys + j] = j >= pad[b] || j === q ? 1 : 0;
    }
  }
  return tf.tensor4d(bytes, [B, 1, Tn, keys], "bool");
}

/**
 * Feeds Tn new tokens per row (`tokens` [B][Tn], all rows the same length) after the cached slots:
 * -> log-probabilities of the NEXT token at every new slot [B, Tn, V], and the grown cache.
 * The old cache is neither changed nor disposed (its cross keys/values are shared with the new one).
 */
export function feed(
  p: TextDecoderParams,
  cache: DecoderCache,
  tokens: readonly (readonly number[])[],
): { logProbs: tf.Tensor3D; cache: DecoderCache } {
  const B = cache.pad.length, S = cache.slots;
  if (tokens.length !== B) {
    throw new ConfigError({
      action: "feed the text decoder",
      reason: `the cache has ${B} rows, got tokens for ${tokens.length}`,
    });
  }
  const Tn = tokens[0]?.length ?? 0;
  if (Tn === 0 || tokens.some((r) => r.length !== Tn)) {
    throw new ConfigError({
      action: "feed the text decoder",
      reason: `every row needs the same positive number of tokens, got lengths [${
        tokens.map((r) => r.length)
      }]`,
    });
  }
  const maxPos = maxPositions(p);
  const positions = new Int32Array(B * Tn);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) positions[b * Tn + i] = Math.max(0, S + i - cache.pad[b]);
  }
  const last = Math.max(...Array.from({ length: B }, (_, b) => S + Tn - 1 - cache.pad[b]));
  if (last >= maxPos) {
    throw new ConfigError({
      action: "feed the text decoder",
      reason: `text position ${last} is past the ${maxPos} positions of the table (config.text.maxLength)`,
    });
  }
  const out = tf.tidy(() => {
    const ids = tf.tensor2d(Int32Array.from(tokens.flat()), [B, Tn], "int32");
    const pos = tf.reshape(tf.gather(p.pos.table, tf.tensor1d(positions, "int32")), [B, Tn, -1]); // [B, Tn, Dt]
    const x = tf.add(embedding.apply(p.embed, ids), pos); // [B, Tn, Dt]
    const mask = selfMask(S, Tn, cache.pad);
    const { y, caches } = transformer.applyStackCached(p.layers, x, cache.self, {
      mask,
      crossKV: cache.cross,
    }); // [B, Tn, Dt]
    const logits = p.output ? dense.apply(p.output, y) : embedding.attend(p.embed, y); // [B, Tn, V]
    return { logProbs: tf.logSoftmax(logits) as tf.Tensor3D, self: caches };
  });
  return {
    logProbs: out.logProbs,
    cache: { cross: cache.cross, self: out.self, slots: S + Tn, pad: cache.pad },
  };
}

/**
 * Feeds one prompt per row into an EMPTY cache (prompts may differ in length: shorter ones are left
 * padded) -> log-probabilities of the first generated token [B, V], and the cache.
 */
export function feedPrompts(
  p: TextDecoderParams,
  cache: DecoderCache,
  prompts: readonly (readonly number[])[],
): { logProbs: tf.Tensor2D; cache: DecoderCache } {
  if (cache.slots !== 0) {
    throw new ConfigError({ action: "feed prompts", reason: `the cache already holds ${cache.slots} slots` });
  }
  const empty = prompts.findIndex((r) => r.length === 0);
  if (empty >= 0) {
    throw new ConfigError({
      action: "feed prompts",
      reason: `prompt ${empty} is empty (it needs at least a BOS token)`,
    });
  }
  const P = Math.max(...prompts.map((r) => r.length));
  const pad = prompts.map((r) => P - r.length);
  const rows = prompts.map((r, b) => [...new Array(pad[b]).fill(r[0]), ...r]); // filler: any valid id
  const out = feed(p, { ...cache, pad }, rows);
  const [B, , V] = out.logProbs.shape;
  const lastLogProbs = tf.tidy(() =>
    tf.reshape(tf.slice(out.logProbs, [0, P - 1, 0], [B, 1, V]), [B, V])
  ) as tf.Tensor2D;
  out.logProbs.dispose();
  return { logProbs: lastLogProbs, cache: out.cache };
}

/**
 * A cache whose row i is row `rows[i]` of `cache` (beam reordering, tiling one row per class or
 * beam). With `cross: false` the cross keys/values are kept as they are: right when every new row
 * comes from a row of the same batch element, so its context is the same.
 */
export function gatherRows(
  cache: DecoderCache,
  rows: readonly number[],
  opts: { cross?: boolean } = {},
): DecoderCache {
  const withCross = opts.cross ?? true;
  if (!withCross && rows.length !== cache.pad.length) {
    throw new ConfigError({
      action: "reorder cache rows",
      reason: `keeping the cross keys/values needs ${cache.pad.length} rows, got ${rows.length}`,
    });
  }
  const idx = tf.tensor1d(Int32Array.from(rows), "int32");
  const take = (kvs: readonly KVCache[]): KVCache[] =>
    tf.tidy(() => kvs.map((kv) => ({ k: tf.gather(kv.k, idx, 0), v: tf.gather(kv.v, idx, 0) })));
  const out: DecoderCache = {
    cross: withCross ? take(cache.cross) : cache.cross,
    self: cache.self ? take(cache.self) : null,
    slots: cache.slots,
    pad: rows.map((r) => cache.pad[r]),
  };
  idx.dispose();
  return out;
}

/** Disposes the self-attention caches, and the cross keys/values too unless `keepCross`. */
export function disposeCache(cache: DecoderCache, opts: { keepCross?: boolean } = {}): void {
  if (cache.self) tf.dispose(cache.self.flatMap((kv) => [kv.k, kv.v]));
  if (!opts.keepCross) tf.dispose(cache.cross.flatMap((kv) => [kv.k, kv.v]));
}
