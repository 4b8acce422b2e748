/**
 * Token Turing Machine Combiner (§3.2, Eq. 3-6; Ryoo et al. 2023):
 *   z_t = Read(u_t, M_t)        TokenLearner over [M_t; u_t]            -> p tokens   (Eq. 3)
 *   o_t = Process(z_t)          transformer of R layers                 -> p tokens   (Eq. 4)
 *   M_{t+1} = Write(M_t, o_t, u_t)  TokenLearner over [M_t; o_t; u_t]   -> |M| tokens (Eq. 5)
 *   x_t = Output(o_t)           TokenLearner over o_t                   -> m tokens   (Eq. 6)
 * The memory has a fixed size, so one step costs the same at every t. Choices where the paper is
 * silent, with their source: a learned initial memory (xGen-MM-Vid's TTM; scenic starts from zeros),
 * a learned position embedding of the p processed tokens (scenic's ViT processor adds one), the
 * Write order [memory, outputs, inputs] (scenic 'TL'), and a separate Output TokenLearner (xGen-MM-Vid,
 * the only anchor that has Eq. 6's Output). Each u_t also gets the chunk-time sinusoid.
 *
 * Letters: B batch, T chunks, n tokens per chunk, p processed tokens, S memory tokens, m outputs, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { truncNormal } from "../../transforms/initializers.ts";
import { foldInMany, type Key, keysFor } from "../../transforms/random.ts";
import type { MirasolConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import * as tokenLearner from "../layers/token_learner.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkTimeAt } from "../chunks.ts";
import { stackConfig } from "../stacks.ts";
import type { CombinerOptions } from "./causal_transformer.ts";

type TokenLearnerParams = tokenLearner.TokenLearnerParams;

export type TtmCombinerParams = {
  /** [S, D] memory before the first chunk. */
  readonly initial_memory: tf.Tensor;
  readonly read: TokenLearnerParams;
  /** [p, D] positions of the processed tokens. */
  readonly process_pos: tf.Tensor;
  readonly process: transformer.StackParams;
  readonly write: TokenLearnerParams;
  readonly output: TokenLearnerParams;
};

/** What one step hands to the next: the memory only, [B, S, D] whatever t and T are. */
export type TtmState = { readonly memory: tf.Tensor3D };

function ttmConfig(c: MirasolConfig) {
  if (c.combiner.kind !== "ttm") {
    throw new ConfigError({
      action: "init the TTM Combiner",
      reason: `config.combiner.kind is '${c.combiner.kind}', not 'ttm'`,
    });
  }
  return c.combiner;
}

export function init(key: Key, c: MirasolConfig): TtmCombinerParams {
  const t = ttmConfig(c);
  const D = c.width.dim, hidden = t.tokenLearnerHidden;
  const k = keysFor(key, ["initial_memory", "read", "process_pos", "process", "write", "output"]);
  return {
    initial_memory: truncNormal(k.initial_memory, [t.memoryTokens, D], 0.02),
    read: tokenLearner.init(k.read, { dim: D, outTokens: t.processTokens, hidden }),
    process_pos: truncNormal(k.process_pos, [t.processTokens, D], 0.02),
    process: transformer.initStack(k.process, stackConfig(c, "combiner")),
    write: tokenLearner.init(k.write, { dim: D, outTokens: t.memoryTokens, hidden }),
    output: tokenLearner.init(k.output, { dim: D, outTokens: t.outTokens, hidden }),
  };
}

/** The state before chunk 1: the learned initial memory for each of B samples. */
export function initState(p: TtmCombinerParams, batch: number): TtmState {
  const [S, D] = p.initial_memory.shape;
  return {
    memory: tf.tidy(() =>
      tf.broadcastTo(tf.reshape(p.initial_memory, [1, S, D]), [batch, S, D]) as tf.Tensor3D
    ),
  };
}

/**
 * One TTM step on chunk t: u_t [B, n, D] (chunk time not yet added) and M_t -> x_t [B, m, D], M_{t+1}.
 * Costs the same for every t: it sees the memory and this chunk only.
 */
export function step(
  p: TtmCombinerParams,
  state: TtmState,
  ut: tf.Tensor,
  t: number,
  opts: { readonly train: boolean; readonly key?: Key; readonly dropout?: number },
): { x: tf.Tensor3D; state: TtmState } {
  const D = (ut as tf.Tensor3D).shape[2];
  const u = tf.add(ut, chunkTimeAt(t, D)) as tf.Tensor3D; // [B, n, D]
  const z = tokenLearner.apply(p.read, tf.concat([state.memory, u], 1) as tf.Tensor3D); // [B, p, D]  Eq. 3
  const P = z.shape[1];
  const o = transformer.applyStack(
    p.process,
    tf.add(z, tf.reshape(p.process_pos, [1, P, D])) as tf.Tensor3D,
    {
      train: opts.train,
      key: opts.key,
      dropout: opts.dropout,
    },
  ); // [B, p, D]  Eq. 4
  const memory = tokenLearner.apply(p.write, tf.concat([state.memory, o, u], 1) as tf.Tensor3D); // [B, S, D]  Eq. 5
  const x = tokenLearner.apply(p.output, o); // [B, m, D]  Eq. 6
  return { x: x as tf.Tensor3D, state: { memory: memory as tf.Tensor3D } };
}

/** u [B, T, n, D] -> x [B, T, m, D], one step per chunk; also the final state. */
export function applyWithState(
  p: TtmCombinerParams,
  u: tf.Tensor,
  opts: CombinerOptions,
): { x: tf.Tensor4D; state: TtmState } {
  const [B, T, n, D] = u.shape;
  let state = initState(p, B);
  const xs: tf.Tensor3D[] = [];
  const keys = opts.key === undefined
    ? undefined
    : foldInMany(opts.key, Array.from({ length: T }, (_, t) => t));
  for (let t = 0; t < T; t++) {
    const ut = tf.reshape(tf.slice(u, [0, t, 0, 0], [B, 1, n, D]), [B, n, D]); // [B, n, D]
    const out = step(p, state, ut, t, {
      train: opts.train,
      key: keys?.[t], // foldIn(key, t)
      dropout: opts.config.dropout,
    });
    xs.push(out.x);
    state = out.state;
  }
  return { x: tf.stack(xs, 1) as tf.Tensor4D, state };
}

export function apply(p: TtmCombinerParams, u: tf.Tensor, opts: CombinerOptions): tf.Tensor4D {
  return applyWithState(p, u, opts).x;
}
