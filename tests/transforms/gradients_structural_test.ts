// Gradients of reductions, matmul, softmax and data-movement kernels
// (transforms/gradients/{reduction,matmul,softmax,shape,slicing,selection}.ts) against central
// differences, on cpu and wasm.
import "../../transforms/gradients/mod.ts";
import {
  MATMUL_CASES,
  REDUCTION_CASES,
  SELECTION_CASES,
  SHAPE_CASES,
  SLICING_CASES,
  SOFTMAX_CASES,
} from "./gradients_cases_structural.ts";
import { defineGradientTests } from "./gradients_numeric.ts";

defineGradientTests([
  ...REDUCTION_CASES,
  ...MATMUL_CASES,
  ...SOFTMAX_CASES,
  ...SHAPE_CASES,
  ...SLICING_CASES,
  ...SELECTION_CASES,
]);
