/**
 * mirasol-ts: define, check, train on small data and export the Mirasol3B multimodal model
 * (Piergiovanni et al., CVPR 2024) in TypeScript, JAX style: pure `init`/`apply` functions over
 * parameter trees, explicit PRNG keys, and transforms (grad, abstract evaluation, tracing).
 *
 * Choose a backend before anything else: `await setBackend("wasm")`.
 */

// Backends
export { BackendError, type BackendName, BACKENDS, currentBackend, hasWebGPU, setBackend } from "./transforms/backend.ts";

// Functional core
export { bernoulli, foldIn, type Key, keyFromWords, keysFor, normal, PRNGKey, split, truncatedNormal, uniform } from "./transforms/random.ts";
export {
  countParams, type Leaf, type MapLeaves, type ShapeDtype, type Tree, treeDispose, treeFlatten, treeLeaves, treeMap,
  treeMapMany, treePaths, treeShapes, treeUnflatten,
} from "./transforms/tree.ts";
export { paramBytes, paramShapes } from "./transforms/param_shapes.ts";
export { evalAbstract } from "./transforms/abstract.ts";
export { type Grads, valueAndGrad } from "./transforms/grad.ts";
export { DIFFERENTIABLE_KERNELS } from "./transforms/gradients/mod.ts";
export * as initializers from "./transforms/initializers.ts";

// Layers and masks
export * as layers from "./model/layers/mod.ts";
export {
  causalMask, chunkCausalCrossMask, chunkCausalCrossMaskArray, chunkCausalMask, chunkCausalMaskArray,
} from "./model/masks.ts";

// The model
export * from "./model/mod.ts";
export { ShapeError } from "./model/errors.ts";

// Optimisers and checkpoints
export {
  adamw, applyUpdates, chain, clipByGlobalNorm, constant, type GradientTransformation, sgd, warmupCosine,
} from "./transforms/optim/mod.ts";
export { CheckpointCorrupt, CheckpointMismatch, loadCheckpoint, saveCheckpoint } from "./model/checkpoint.ts";

// Evaluation
export { accuracyOf, emptyTally, exactMatch, isExactMatch, normalizeAnswer, tallyAdd } from "./model/eval.ts";

// Data
export * from "./data/mod.ts";

// Notebook display helpers
export * from "./viz/mod.ts";

// Tracing and export
export { type Graph, printGraph, trace, TraceError } from "./transforms/trace.ts";
export * from "./export/mod.ts";
