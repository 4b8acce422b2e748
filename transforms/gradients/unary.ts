/**
 * Gradients of elementwise math kernels: dx = dy * f'(x). Kernels whose derivative is cheapest in
 * terms of their output (exp, sqrt, rsqrt, reciprocal) save the output instead of recomputing it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { one, zeroGrad } from "./_broadcast.ts";

/** dx = dy * derivative(x), with x the saved input. */
function ofInput(kernelName: string, derivative: (x: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(one(dy), derivative(float(x))) }),
  };
}

/** dx = dy * derivative(y), with y the saved output. */
function ofOutput(kernelName: string, derivative: (y: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(one(dy), derivative(y)) }),
  };
}

const float = (t: tf.Tensor) => (t.dtype === "float32" ? t : tf.cast(t, "float32"));
/** 1 / sqrt(s) for the inverse trigonometric and hyperbolic derivatives. */
const invSqrt = (s: tf.Tensor) => tf.rsqrt(s);

export const UNARY_GRADIENTS: readonly tf.GradConfig[] = [
  { kernelName: "Neg", gradFunc: (dy) => ({ x: () => tf.neg(one(dy)) }) },
  { kernelName: "Identity", gradFunc: (dy) => ({ x: () => tf.clone(one(dy)) }) },
  ofInput("Abs", (x) => tf.sign(x)),
  ofInput("Square", (x) => tf.mul(2, x)),
  ofOutput("Sqrt", (y) => tf.div(0.5, y)),
  ofOutput("Rsqrt", (y) => tf.mul(-0.5, tf.pow(y, 3))),
  ofOutput("Reciprocal", (y) => tf.neg(tf.square(y))),
  ofOutput("Exp", (y) => y),
  ofOutput("Expm1", (y) => tf.add(y, 1)),
  ofInput("Log", (x) => tf.reciprocal(x)),
  ofInput("Log1p", (x) => tf.reciprocal(tf.add(x, 1))),
  ofInput("Erf", (x) => tf.mul(2 / Math.sqrt(Math.PI), tf.exp(tf.neg(tf.square(x))))),
  ofInput("Sin", (x) => tf.cos(x)),
  ofInput("Cos", (x) => tf.neg(tf.sin(x))),
  ofInput("Tan", (x) => tf.reciprocal(tf.square(tf.cos(x)))),
  ofInput("Sinh", (x) => tf.cosh(x)),
  ofInput("Cosh", (x) => tf.sinh(x)),
  ofInput("Asin", (x) => invSqrt(tf.sub(1, tf.square(x)))),
  ofInput("Acos", (x) => tf.neg(invSqrt(tf.sub(1, tf.square(x))))),
  ofInput("Atan", (x) => tf.reciprocal(tf.add(1, tf.square(x)))),
  ofInput("Asinh", (x) => invSqrt(tf.add(1, tf.square(x)))),
  ofInput("Acosh", (x) => invSqrt(tf.sub(tf.square(x), 1))),
  ofInput("Atanh", (x) => tf.reciprocal(tf.sub(1, tf.square(x)))),
];

/**
 * Cast passes the gradient through between float types only. From int or bool there is nothing to
 * differentiate, and to int or bool the output is piecewise constant: both give zeros (TF gives None).
 */
export const CAST_GRADIENT: tf.GradConfig = {
  kernelName: "Cast",
  inputsToSave: ["x"],
  gradFunc: (dy, [x], attrs) => ({
    x: () => (x.dtype === "float32" && attrs.dtype === "float32" ? tf.clone(one(dy)) : zeroGrad(x.shape)),
  }),
};
