/**
 * Gradients of activation functions. Kinks (relu at 0, clip at its bounds) take the one-sided
 * derivative TensorFlow takes, so gradients agree with a TF export bit for bit in sign.
 */
import * as tf from "@tensorflow/tfjs-core";
import { one, sumToShape } from "./_broadcast.ts";

const float = (t: tf.Tensor) => (t.dtype === "float32" ? t : tf.cast(t, "float32"));
const mask = (b: tf.Tensor) => tf.cast(b, "float32");

export const ACTIVATION_GRADIENTS: readonly tf.GradConfig[] = [
  {
    kernelName: "Tanh",
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(one(dy), tf.sub(1, tf.square(y))) }),
  },
  {
    kernelName: "Sigmoid",
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(one(dy), tf.mul(y, tf.sub(1, y))) }),
  },
  {
    kernelName: "Softplus",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(one(dy), tf.sigmoid(float(x))) }),
  },
  {
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(one(dy), mask(tf.greater(x, 0))) }),
  },
  {
    kernelName: "Relu6",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({
      x: () => tf.mul(one(dy), mask(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)))),
    }),
  },
  {
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () =>
        tf.mul(
          one(dy),
          tf.where(tf.greater(x, 0), tf.onesLike(float(x)), tf.fill(x.shape, attrs.alpha as number)),
        ),
    }),
  },
  {
    // elu(x) = x for x > 0, exp(x) - 1 otherwise: the derivative there is y + 1.
    kernelName: "Elu",
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({
      x: () => tf.mul(one(dy), tf.where(tf.greater(y, 0), tf.onesLike(y), tf.add(y, 1))),
    }),
  },
  {
    kernelName: "Selu",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => {
      const { SELU_SCALE, SELU_SCALEALPHA } = tf.backend_util;
      return {
        x: () =>
          tf.mul(
            one(dy),
            // TF's SeluGrad takes the linear branch at 0 (only x < 0 is exponential).
            tf.where(tf.less(x, 0), tf.mul(SELU_SCALEALPHA, tf.exp(float(x))), tf.fill(x.shape, SELU_SCALE)),
          ),
      };
    },
  },
  {
    // prelu(x, alpha) = x for x > 0, alpha x otherwise; alpha broadcasts against x.
    kernelName: "Prelu",
    inputsToSave: ["x", "alpha"],
    gradFunc: (dy, [x, alpha]) => {
      const positive = tf.greater(x, 0);
      return {
        x: () =>
          tf.mul(one(dy), tf.where(positive, tf.onesLike(float(x)), tf.broadcastTo(float(alpha), x.shape))),
        alpha: () =>
          sumToShape(tf.mul(one(dy), tf.where(positive, tf.zerosLike(float(x)), float(x))), alpha.shape),
      };
    },
  },
  {
    // Inside [min, max] (bounds included, as in TF) the gradient passes; outside it is cut.
    kernelName: "ClipByValue",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const inside = tf.logicalAnd(
        tf.greaterEqual(x, attrs.clipValueMin as number),
        tf.lessEqual(x, attrs.clipValueMax as number),
      );
      return { x: () => tf.mul(one(dy), mask(inside)) };
    },
  },
];
