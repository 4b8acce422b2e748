/**
 * Text decoder (§3.4, Eq. 9): an autoregressive transformer over the text tokens; each block has
 * causal self-attention, cross-attention to ALL of h = (h_1..h_T) (the text is not time-aligned, so
 * it sees every chunk), and an MLP. Logits through the tied input embedding or a separate `output`.
 * Learned positions sized by `text.maxLength` (not by frames).
 *
 * Incremental decoding (`initState`/`step`, for generation): the cross-attention keys/values of h are
 * projected once per sequence, and every block keeps a self-attention key/value cache that grows by
 * the tokens fed, so a new token costs one decoder step, not a re-run over the prefix. Same params
 * and the same arithmetic as `apply` (tests compare both). Prompts of different lengths share one
 * batch by LEFT padding: row b starts with `pad[b]` filler slots whose keys no query may see, and its
 * positions count from its first real token, so each row computes what it would compute alone.
 *
 * Letters: B batch (rows), L text length, T chunks, m tokens per chunk, D audio+video width,
 * Dt text width, V vocab, S slots fed so far, Tn new tokens, H heads, Dh head width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../transforms/random.ts";
import { flatten } from "./chunks.ts";
import type { MirasolConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { KVCache } from "./layers/attention.ts";
import * as dense from "./layers/dense.ts";
import * as embedding from "./layers/embedding.ts";
import * as position from "./layers/position.ts";
import * as transformer from "./layers/transformer.ts";
import { causalMask } from "./masks.ts";
import { stackConfig } from "./stacks.ts";

export type TextDecoderParams = {
  readonly embed: embedding.EmbeddingParams;
  readonly pos: position.LearnedParams;
  readonly layers: transformer.StackParams;
  /** Only when `tieEmbeddings` is false: [Dt, V]. */
  readonly output?: dense.DenseParams;
};

/** What incremental decoding carries from step to step. */
export type TextDecoderState = {
  /** Cross-attention keys/values of h, one per block: [B, H, T*m, Dh]; projected once. */
  readonly cross: readonly KVCache[];
  /** Self-attention keys/values of every fed slot, one per block: [B, H, S, Dh]; null before any. */
  readonly self: readonly KVCache[] | null;
  /** S: slots fed so far, padding included (the same for every row). */
  readonly slots: number;
  /** Per row: the left-padding slots in front of its prompt (hidden as keys, never positions). */
  readonly pad: readonly number[];
};

export function init(key: Key, c: MirasolConfig): TextDecoderParams {
  const k = keysFor(key, ["embed", "pos", "layers", "output"]);
  const t = c.text;
  const p: TextDecoderParams = {
    embed: embedding.init(k.embed, { vocab: t.vocab, dim: t.dim }),
    pos: position.initLearned(k.pos, { len: t.maxLength, dim: t.dim }),
    layers: transformer.initStack(k.layers, stackConfig(c, "text_decoder")),
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

function logits(p: TextDecoderParams, y: tf.Tensor): tf.Tensor3D {
  return (p.output ? dense.apply(p.output, y) : embedding.attend(p.embed, y)) as tf.Tensor3D; // [B, L, V]
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
  return logits(p, y);
}

/** The text positions the table holds (`text.maxLength`). */
export function maxPositions(p: TextDecoderParams): number {
  return p.pos.table.shape[0];
}

/** An empty state over the context h [B, T, m, D]: only the cross keys/values, projected now. */
export function initState(p: TextDecoderParams, h: tf.Tensor): TextDecoderState {
  const B = h.shape[0];
  const cross = tf.tidy(() => transformer.stackCrossKV(p.layers, flatten(h))); // [B, H, T*m, Dh] per block
  return { cross, self: null, slots: 0, pad: new Array(B).fill(0) };
}

/**
 * Self-attention mask for Tn new slots after S cached ones, bool [B, 1, Tn, S+Tn], or undefined when
 * every new token may see every slot (one new token, no padding). Query i (slot S+i) of row b sees
 * slot j iff j <= S+i and j is not padding (a padding query sees itself, so no row is empty).
 */
function stepMask(S: number, Tn: number, pad: readonly number[]): tf.Tensor | undefined {
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
 * -> log-probabilities of the NEXT token at every new slot [B, Tn, V], and the grown state.
 * The old state is neither changed nor disposed (its cross keys/values are shared with the new one).
 */
export function step(
  p: TextDecoderParams,
  state: TextDecoderState,
  tokens: readonly (readonly number[])[],
): { logProbs: tf.Tensor3D; state: TextDecoderState } {
  const B = state.pad.length, S = state.slots;
  const fail = (reason: string) => new ConfigError({ action: "feed the text decoder", reason });
  if (tokens.length !== B) throw fail(`the state has ${B} rows, got tokens for ${tokens.length}`);
  const Tn = tokens[0]?.length ?? 0;
  if (Tn === 0 || tokens.some((r) => r.length !== Tn)) {
    throw fail(
      `every row needs the same positive number of tokens, got lengths [${tokens.map((r) => r.length)}]`,
    );
  }
  const maxPos = maxPositions(p);
  const positions = new Int32Array(B * Tn);
  let last = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn; i++) positions[b * Tn + i] = Math.max(0, S + i - state.pad[b]);
    last = Math.max(last, S + Tn - 1 - state.pad[b]);
  }
  if (last >= maxPos) {
    throw fail(`text position ${last} is past the ${maxPos} positions of the table (config.text.maxLength)`);
  }
  const out = tf.tidy(() => {
    const ids = tf.tensor2d(Int32Array.from(tokens.flat()), [B, Tn], "int32");
    const pos = tf.reshape(tf.gather(p.pos.table, tf.tensor1d(positions, "int32")), [B, Tn, -1]); // [B, Tn, Dt]
    const x = tf.add(embedding.apply(p.embed, ids), pos); // [B, Tn, Dt]
    const { y, caches } = transformer.applyStackCached(p.layers, x, state.self, {
      mask: stepMask(S, Tn, state.pad),
      crossKV: state.cross,
    }); // [B, Tn, Dt]
    return { logProbs: tf.logSoftmax(logits(p, y)) as tf.Tensor3D, self: caches };
  });
  return {
    logProbs: out.logProbs,
    state: { cross: state.cross, self: out.self, slots: S + Tn, pad: state.pad },
  };
}

/**
 * Feeds one prompt per row into an EMPTY state (prompts may differ in length: shorter ones are left
 * padded) -> log-probabilities of the first generated token [B, V], and the state.
 */
export function stepPrompts(
  p: TextDecoderParams,
  state: TextDecoderState,
  prompts: readonly (readonly number[])[],
): { logProbs: tf.Tensor2D; state: TextDecoderState } {
  const fail = (reason: string) => new ConfigError({ action: "feed prompts", reason });
  if (state.slots !== 0) throw fail(`the state already holds ${state.slots} slots`);
  const empty = prompts.findIndex((r) => r.length === 0);
  if (empty >= 0) throw fail(`prompt ${empty} is empty (it needs at least a BOS token)`);
  const P = prompts.reduce((n, r) => Math.max(n, r.length), 0);
  const pad = prompts.map((r) => P - r.length);
  const rows = prompts.map((r, b) => [...new Array(pad[b]).fill(r[0]), ...r]); // filler: any valid id
  const out = step(p, { ...state, pad }, rows);
  const [B, , V] = out.logProbs.shape;
  const lastLogProbs = tf.tidy(() =>
    tf.reshape(tf.slice(out.logProbs, [0, P - 1, 0], [B, 1, V]), [B, V])
  ) as tf.Tensor2D;
  out.logProbs.dispose();
  return { logProbs: lastLogProbs, state: out.state };
}

/**
 * A state whose row i is row `rows[i]` of `state` (beam reordering, tiling one row per class or
 * beam). With `cross: false` the cross keys/values are kept as they are: right when every new row
 * comes from a row of the same batch element, so its context is the same.
 */
export function selectRows(
  state: TextDecoderState,
  rows: readonly number[],
  opts: { cross?: boolean } = {},
): TextDecoderState {
  const withCross = opts.cross ?? true;
  if (!withCross && rows.length !== state.pad.length) {
    throw new ConfigError({
      action: "reorder decoder rows",
      reason: `keeping the cross keys/values needs ${state.pad.length} rows, got ${rows.length}`,
    });
  }
  const idx = tf.tensor1d(Int32Array.from(rows), "int32");
  const take = (kvs: readonly KVCache[]): KVCache[] =>
    tf.tidy(() => kvs.map((kv) => ({ k: tf.gather(kv.k, idx, 0), v: tf.gather(kv.v, idx, 0) })));
  const out: TextDecoderState = {
    cross: withCross ? take(state.cross) : state.cross,
    self: state.self ? take(state.self) : null,
    slots: state.slots,
    pad: rows.map((r) => state.pad[r]),
  };
  idx.dispose();
  return out;
}

/** Disposes the self-attention caches, and the cross keys/values too unless `keepCross`. */
export function disposeState(state: TextDecoderState, opts: { keepCross?: boolean } = {}): void {
  if (state.self) tf.dispose(state.self.flatMap((kv) => [kv.k, kv.v]));
  if (!opts.keepCross) tf.dispose(state.cross.flatMap((kv) => [kv.k, kv.v]));
}
