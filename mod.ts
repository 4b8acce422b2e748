/**
 * mirasol-ts: define, check, train on small data and export the Mirasol3B multimodal model
 * (Piergiovanni et al., CVPR 2024) in TypeScript, JAX style: pure `init`/`apply` functions over
 * parameter trees, explicit PRNG keys, and transforms (grad, abstract evaluation, tracing).
 *
 * Choose a backend before anything else: `await setBackend("wasm")`.
 */

// Backends
export {
  backendAlive,
  BackendError,
  type BackendName,
  BACKENDS,
  currentBackend,
  hasWebGPU,
  isBackendAbort,
  resetBackend,
  setBackend,
} from "./transforms/backend.ts";

// Functional core
export {
  bernoulli,
  foldIn,
  type Key,
  keyFromWords,
  keysFor,
  normal,
  PRNGKey,
  split,
  truncatedNormal,
  uniform,
} from "./transforms/random.ts";
export {
  countParams,
  type Leaf,
  type MapLeaves,
  type ShapeDtype,
  type Tree,
  treeDispose,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeMapMany,
  treePaths,
  treeShapes,
  treeUnflatten,
} from "./transforms/tree.ts";
export { paramBytes, paramShapes } from "./transforms/param_shapes.ts";
export { evalAbstract } from "./transforms/abstract.ts";
export { type Grads, valueAndGrad } from "./transforms/grad.ts";
export { DIFFERENTIABLE_KERNELS } from "./transforms/gradients/mod.ts";
export * as initializers from "./transforms/initializers.ts";

// The network: configs, layers, masks, init / forward / loss
export * from "./model/mod.ts";

// Inference: generation, classification, streaming, exact match
export * from "./inference/mod.ts";

// Training: step, loop, batch sources, checkpoints
export * from "./train/mod.ts";

// Optimisers
export {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  constant,
  type GradientTransformation,
  sgd,
  warmupCosine,
} from "./transforms/optim/mod.ts";

// Data
export * from "./data/mod.ts";

// Notebook display helpers
export * from "./viz/mod.ts";

// Tracing and export
export { type Graph, printGraph, trace, TraceError } from "./transforms/trace.ts";
export * from "./export/mod.ts";
