/** The layer namespace: `import { layers } from "mirasol-ts"; layers.attention.apply(...)`. */
export * as attention from "./attention.ts";
export * as dense from "./dense.ts";
export * as dropout from "./dropout.ts";
export * as embedding from "./embedding.ts";
export * as layerNorm from "./layer_norm.ts";
export * as mlp from "./mlp.ts";
export * as position from "./position.ts";
export * as tokenLearner from "./token_learner.ts";
export * as transformer from "./transformer.ts";
