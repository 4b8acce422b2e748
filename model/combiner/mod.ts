/**
 * The Combiners (§3.2, Tab. 5b), chosen by `config.combiner.kind`: u [B, T, n, D] -> x [B, T, m, D],
 * all causal at chunk level (x_t depends on u_1..u_t only, Eq. 2). Kind "none" (x = u) is the
 * Tab. 5a ablation without a Combiner; its params are an empty record.
 */
import type * as tf from "@tensorflow/tfjs-core";
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
