/**
 * Kernels whose output is piecewise constant in their inputs (rounding, comparisons, argmax, masks)
 * or does not depend on their values (zerosLike, onesLike). They still need a gradient config: when
 * such a kernel lies between a parameter and the loss, as greater(x, 0) does inside tf.where, the
 * tape asks every kernel on the path for a gradient. They all give float32 zeros.
 */
import * as tf from "@tensorflow/tfjs-core";
import { zeroGrad } from "./_broadcast.ts";

/** Zero gradient for each named input, shaped like the saved input. */
function zeroFor(kernelName: string, inputs: readonly string[]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: [...inputs],
    gradFunc: (_dy, saved) =>
      Object.fromEntries(inputs.map((name, i) => [name, () => zeroGrad(saved[i].shape)])),
  };
}

const UNARY = [
  "Floor",
  "Ceil",
  "Round",
  "Sign",
  "Step",
  "IsNan",
  "IsInf",
  "IsFinite",
  "ZerosLike",
  "OnesLike",
  "LogicalNot",
  "ArgMax",
  "ArgMin",
  "All",
  "Any",
] as const;
const BINARY = [
  "Equal",
  "NotEqual",
  "Greater",
  "GreaterEqual",
  "Less",
  "LessEqual",
  "LogicalAnd",
  "LogicalOr",
] as const;

export const NON_DIFFERENTIABLE_GRADIENTS: readonly tf.GradConfig[] = [
  ...UNARY.map((name) => zeroFor(name, ["x"])),
  ...BINARY.map((name) => zeroFor(name, ["a", "b"])),
  zeroFor("OneHot", ["indices"]),
];
