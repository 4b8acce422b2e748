// Gradients of elementwise kernels (transforms/gradients/{arithmetic,unary,activation,non_differentiable}.ts)
// against central differences, on cpu and wasm.
import "../../transforms/gradients/mod.ts";
import { ARITHMETIC_CASES, UNARY_CASES, ZERO_GRADIENT_CASES } from "./gradients_cases_elementwise.ts";
import { defineGradientTests } from "./gradients_numeric.ts";

defineGradientTests([...ARITHMETIC_CASES, ...UNARY_CASES, ...ZERO_GRADIENT_CASES]);
