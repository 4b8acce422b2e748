/** Optimizers over parameter trees: pure `{init, update}` transformations composed with `chain`. */
export {
  applyUpdates,
  chain,
  type GradientTransformation,
  OptimError,
  type OptState,
  type Params,
} from "./chain.ts";
export {
  type AdamOptions,
  adamw,
  type AdamWOptions,
  addDecayedWeights,
  decayByDefault,
  type DecayMask,
  scaleByAdam,
} from "./adamw.ts";
export { sgd, type SgdOptions, trace } from "./sgd.ts";
export { clipByGlobalNorm, globalNorm } from "./clip.ts";
export {
  constant,
  scaleByLearningRate,
  type Schedule,
  scheduleValue,
  warmupCosine,
  type WarmupCosineOptions,
} from "./schedule.ts";
