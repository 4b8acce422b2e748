/**
 * The Combiners (§3.2, Tab. 5b), chosen by `config.combiner.kind`: u [B, T, n, D] -> x [B, T, m, D],
 * all causal at chunk level (x_t depends on u_1..u_t only, Eq. 2). Kind "none" (x = u) is the
 * Tab. 5a ablation without a Combiner; its params are an empty record.
 *
 * Each kind also runs one chunk at a time (`initState`/`step`, streaming: every part of the model is
 * autoregressive), giving the x_t that `apply` gives on the whole sequence. What a state carries:
 * causal_transformer and cls the keys/values of every earlier token per layer, perceiver also the
 * projected keys/values of every earlier input token, ttm only its memory [B, S, D] (a step costs the
 * same at every t), none nothing.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import type { MirasolConfig } from "../config.ts";
import * as causalTransformer from "./causal_transformer.ts";
import * as cls from "./cls.ts";
import * as perceiver from "./perceiver.ts";
import * as ttm from "./ttm.ts";

export { causalTransformer, cls, perceiver, ttm };
export type { CombinerOptions } from "./causal_transformer.ts";

export type CombinerParams =
  | causalTransformer.CausalTransformerCombinerParams
  | ttm.TtmCombinerParams
  | perceiver.PerceiverCombinerParams
  | cls.ClsCombinerParams
  | Record<string, never>;

/** A streaming state, tagged with the kind that made it. */
export type CombinerState =
  | { readonly kind: "causal_transformer"; readonly state: causalTransformer.CausalTransformerState }
  | { readonly kind: "cls"; readonly state: cls.ClsState }
  | { readonly kind: "perceiver"; readonly state: perceiver.PerceiverState }
  | { readonly kind: "ttm"; readonly state: ttm.TtmState }
  | { readonly kind: "none" };

export function init(key: Key, c: MirasolConfig): CombinerParams {
  switch (c.combiner.kind) {
    case "causal_transformer":
      return causalTransformer.init(key, c);
    case "ttm":
      return ttm.init(key, c);
    case "perceiver":
      return perceiver.init(key, c);
    case "cls":
      return cls.init(key, c);
    case "none":
      return {};
  }
}

/** u [B, T, n, D] -> x [B, T, m, D]; `p` must come from `init` with the same config kind. */
export function apply(
  p: CombinerParams,
  u: tf.Tensor,
  opts: { config: MirasolConfig; train: boolean; key?: Key },
): tf.Tensor4D {
  switch (opts.config.combiner.kind) {
    case "causal_transformer":
      return causalTransformer.apply(p as causalTransformer.CausalTransformerCombinerParams, u, opts);
    case "ttm":
      return ttm.apply(p as ttm.TtmCombinerParams, u, opts);
    case "perceiver":
      return perceiver.apply(p as perceiver.PerceiverCombinerParams, u, opts);
    case "cls":
      return cls.apply(p as cls.ClsCombinerParams, u, opts);
    case "none":
      return u as tf.Tensor4D; // Tab. 5a "without the Combiner": x = u
  }
}

/** The state before chunk 1 for `batch` samples. */
export function initState(p: CombinerParams, c: MirasolConfig, batch: number): CombinerState {
  const kind = c.combiner.kind;
  switch (kind) {
    case "causal_transformer":
      return { kind, state: causalTransformer.initState(c) };
    case "cls":
      return { kind, state: cls.initState() };
    case "perceiver":
      return { kind, state: perceiver.initState() };
    case "ttm":
      return { kind, state: ttm.initState(p as ttm.TtmCombinerParams, batch) };
    case "none":
      return { kind };
  }
}

/**
 * Chunk t (0-based): u_t [B, n, D] (without chunk time) -> x_t [B, m, D] and the next state.
 * Inference (no dropout). The old state is neither changed nor disposed.
 */
export function step(
  p: CombinerParams,
  s: CombinerState,
  ut: tf.Tensor3D,
  t: number,
): { x: tf.Tensor3D; state: CombinerState } {
  switch (s.kind) {
    case "causal_transformer": {
      const out = causalTransformer.step(
        p as causalTransformer.CausalTransformerCombinerParams,
        s.state,
        ut,
        t,
      );
      return { x: out.x, state: { kind: s.kind, state: out.state } };
    }
    case "cls": {
      const out = cls.step(p as cls.ClsCombinerParams, s.state, ut, t);
      return { x: out.x, state: { kind: s.kind, state: out.state } };
    }
    case "perceiver": {
      const out = perceiver.step(p as perceiver.PerceiverCombinerParams, s.state, ut, t);
      return { x: out.x, state: { kind: s.kind, state: out.state } };
    }
    case "ttm": {
      const out = tf.tidy(() => ttm.step(p as ttm.TtmCombinerParams, s.state, ut, t, { train: false }));
      return { x: out.x, state: { kind: s.kind, state: out.state } };
    }
    case "none":
      return { x: tf.clone(ut), state: s };
  }
}
