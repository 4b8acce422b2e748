/**
 * Streaming inference (the paper: every part is autoregressive, so the model "is naturally
 * applicable to streaming videos"). A stream consumes a video chunk by chunk (the K frames of one
 * chunk and their K*r audio columns), and after chunk t gives x_t (Combiner) and h_t (latent
 * model), equal to what `forward` gives on chunks 1..T. At any point `ask` generates an answer
 * about the video seen so far: the text decoder cross-attends to h_1..h_t.
 *
 * This file only orchestrates: per chunk, the encoders see chunk t alone, then the Combiner's and
 * the latent model's own `step` carry their states (the Combiner's own file says what each kind
 * keeps; TTM only its memory), and the stream keeps h_1..h_t (one tensor) for `ask`. `streamStep`
 * is the pure step; `createStream` wraps it in a handle that disposes replaced state, so a stream
 * holds the same number of tensors after every chunk.
 *
 * Letters: B batch, K frames per chunk, r audio columns per frame, F mel bins, n tokens per chunk,
 * m Combiner outputs per chunk, t chunks seen, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as combiner from "../model/combiner/mod.ts";
import { framesPerChunk, type MirasolConfig, withFrames } from "../model/config.ts";
import { ConfigError } from "../model/errors.ts";
import { type Media, validateMedia } from "../model/inputs.ts";
import * as latent from "../model/latent.ts";
import { encode, type MirasolParams } from "../model/mirasol.ts";
import { type Generated, generateFromContext, type GenerateOptions, type Prompt } from "./generate.ts";

/** One chunk: video float32 [B, K, H, W, 3] and its audio float32 [B, K*r, F]. */
export type MediaChunk = Media;

export type StreamState = {
  /** Chunks consumed so far. */
  readonly t: number;
  /** null before the first chunk (the batch size is not known yet). */
  readonly combiner: combiner.CombinerState | null;
  readonly latent: latent.LatentState;
  /** h_1..h_t [B, t, m, D]; null before any chunk. */
  readonly h: tf.Tensor4D | null;
};

export const emptyStream: StreamState = { t: 0, combiner: null, latent: latent.initState(), h: null };

/** Every tensor a state holds (for disposal and memory checks). */
export function streamTensors(s: StreamState): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const visit = (x: unknown): void => {
    if (x instanceof tf.Tensor) out.push(x);
    else if (Array.isArray(x)) x.forEach(visit);
    else if (x !== null && typeof x === "object") Object.values(x).forEach(visit);
  };
  visit(s);
  return out;
}

/** The config of one chunk: the same model on K frames in 1 chunk (encoders see one chunk at a time anyway). */
function chunkConfig(c: MirasolConfig): MirasolConfig {
  return withFrames(c, framesPerChunk(c), 1);
}

/**
 * Consumes one chunk: -> x_t, h_t [B, m, D] (new tensors, the caller's to dispose) and the next
 * state. The old state is neither changed nor disposed (tensors it shares with the new one stay
 * in use: dispose only those `streamTensors` of the old state that the new one lacks).
 */
export function streamStep(
  params: MirasolParams,
  state: StreamState,
  chunk: MediaChunk,
  config: MirasolConfig,
): { x: tf.Tensor3D; h: tf.Tensor3D; state: StreamState } {
  if (config.latentAttention === "bidirectional" && config.latentDepth > 0) {
    throw new ConfigError({
      action: "stream a chunk",
      reason: "the latent model is bidirectional (latentAttention), so h_t depends on chunks not seen yet",
    });
  }
  const one = chunkConfig(config);
  const B = validateMedia(chunk, one);
  const batch = state.h?.shape[0];
  if (batch !== undefined && batch !== B) {
    throw new ConfigError({
      action: "stream a chunk",
      reason: `the stream has ${batch} samples, the chunk ${B}`,
    });
  }
  const t = state.t;
  return tidyRecord(() => {
    const u = encode(params, chunk, { config: one, train: false }); // [B, 1, n, D]
    const [, , n, D] = u.shape;
    const ut = tf.reshape(u, [B, n, D]) as tf.Tensor3D; // [B, n, D]
    const start = state.combiner ?? combiner.initState(params.combiner, config, B);
    const comb = combiner.step(params.combiner, start, ut, t); // x_t [B, m, D]
    const lat = params.latent
      ? latent.step(params.latent, state.latent, comb.x, t)
      : { h: tf.clone(comb.x), state: state.latent };
    const m = comb.x.shape[1];
    const ht = tf.reshape(lat.h, [B, 1, m, D]);
    const h = (state.h ? tf.concat([state.h, ht], 1) : ht) as tf.Tensor4D; // [B, t+1, m, D]
    return { x: comb.x, h: lat.h, state: { t: t + 1, combiner: comb.state, latent: lat.state, h } };
  });
}

/** tf.tidy keeps every tensor of a returned record; its type just does not admit the nulls in ours. */
function tidyRecord<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/** Disposes every tensor of the state. */
export function disposeStream(s: StreamState): void {
  tf.dispose(streamTensors(s));
}

/** A stream of one batch of videos, fed chunk by chunk. */
export type VideoStream = {
  /** Chunks consumed so far (t). */
  readonly chunks: number;
  /** Consumes the next chunk -> x_t, h_t [B, m, D] (the caller's to dispose). */
  push(chunk: MediaChunk): { x: tf.Tensor3D; h: tf.Tensor3D };
  /** h_1..h_t [B, t, m, D], owned by the stream (valid until the next push or dispose). */
  context(): tf.Tensor4D;
  /** Generates an answer about chunks 1..t (see `generate`); the stream is unchanged. */
  ask(question: Prompt, opts: Omit<GenerateOptions, "config">): Generated[];
  /** The state as plain data (for `streamStep` users and memory checks). */
  state(): StreamState;
  dispose(): void;
};

/**
 *   const stream = createStream(params, config);
 *   for (const chunk of chunks) tf.dispose(Object.values(stream.push(chunk)));
 *   const [answer] = stream.ask([bos, ...question, sep], { maxLen: 8, strategy: { kind: "greedy" }, eos });
 */
export function createStream(params: MirasolParams, config: MirasolConfig): VideoStream {
  let state = emptyStream;
  let disposed = false;
  const live = () => {
    if (disposed) throw new ConfigError({ action: "use the stream", reason: "it has been disposed" });
  };
  const context = () => {
    live();
    if (!state.h) {
      throw new ConfigError({ action: "ask about the stream", reason: "no chunk has been pushed yet" });
    }
    return state.h;
  };
  return {
    get chunks() {
      return state.t;
    },
    push(chunk) {
      live();
      const out = streamStep(params, state, chunk, config);
      const kept = new Set(streamTensors(out.state).map((x) => x.id));
      tf.dispose(streamTensors(state).filter((x) => !kept.has(x.id)));
      state = out.state;
      return { x: out.x, h: out.h };
    },
    context,
    ask(question, opts) {
      return generateFromContext(params, context(), question, { ...opts, config });
    },
    state: () => state,
    dispose() {
      if (!disposed) disposeStream(state);
      disposed = true;
      state = emptyStream;
    },
  };
}
