/**
 * Learning-rate schedules: a schedule maps the number of updates done so far (an int32 scalar
 * tensor kept in the optimizer state) to a learning rate, with tensor ops only, so it needs no
 * read-back from the device and gives the same numbers on every backend. `scaleByLearningRate`
 * multiplies updates by -lr(step) and owns that step counter.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  checkRange,
  type GradientTransformation,
  OptimError,
  type Params,
  tidyUpdate,
  zipMap,
} from "./chain.ts";

/** step (int32 scalar, updates done so far) -> learning rate (float32 scalar). */
export type Schedule = (step: tf.Scalar) => tf.Scalar;

/** The same rate at every step. */
export function constant(value: number): Schedule {
  checkRange("constant", "value", value, -Infinity, Infinity);
  return () => tf.scalar(value, "float32");
}

export type WarmupCosineOptions = {
  /** Rate at step 0, the start of the warm-up (default 0). */
  readonly initValue?: number;
  /** Rate reached at the end of the warm-up, where the cosine starts. */
  readonly peakValue: number;
  /** Steps of linear warm-up from initValue to peakValue. */
  readonly warmupSteps: number;
  /** Total steps, warm-up included (optax.warmup_cosine_decay_schedule's decay_steps). */
  readonly decaySteps: number;
  /** Rate at decaySteps and after (default 0). */
  readonly endValue?: number;
};

/**
 * Linear warm-up, then half a cosine from peakValue to endValue, then endValue
 * (optax.warmup_cosine_decay_schedule; Keras CosineDecay with warmup_target and alpha = end/peak):
 *   lr(t) = init + (peak - init) t / W                                for t < W
 *   lr(t) = end + (peak - end) (1 + cos(pi min(t - W, S - W) / (S - W))) / 2   otherwise
 */
export function warmupCosine(o: WarmupCosineOptions): Schedule {
  const { initValue = 0, peakValue, warmupSteps, decaySteps, endValue = 0 } = o;
  for (const [name, v] of Object.entries({ initValue, peakValue, endValue })) {
    checkRange("warmupCosine", name, v, -Infinity, Infinity);
  }
  if (
    !Number.isInteger(warmupSteps) || warmupSteps < 0 || !Number.isInteger(decaySteps) ||
    decaySteps <= warmupSteps
  ) {
    throw new OptimError(
      "warmupCosine",
      `need integers 0 <= warmupSteps < decaySteps, got ${warmupSteps} and ${decaySteps}`,
    );
  }
  const cosineSteps = decaySteps - warmupSteps;
  return (step) =>
    tf.tidy(() => {
      const t = tf.cast(step, "float32");
      const c = tf.minimum(tf.maximum(tf.sub(t, warmupSteps), 0), cosineSteps);
      const cosine = tf.mul(tf.add(tf.cos(tf.mul(c, Math.PI / cosineSteps)), 1), 0.5);
      const decayed = tf.add(tf.mul(cosine, peakValue - endValue), endValue);
      if (warmupSteps === 0) return decayed as tf.Scalar;
      const warm = tf.add(tf.mul(t, (peakValue - initValue) / warmupSteps), initValue);
      return tf.where(tf.less(t, warmupSteps), warm, decayed) as tf.Scalar;
    });
}

/** The rate a schedule gives at `step`, as a number (progress bars, logs, tests). */
export function scheduleValue(schedule: Schedule, step: number): number {
  return tf.tidy(() => schedule(tf.scalar(step, "int32")).dataSync()[0]);
}

const asSchedule = (lr: number | Schedule): Schedule => (typeof lr === "number" ? constant(lr) : lr);

/** updates * -lr(count): the last link of every optimizer. State {count}: updates done so far. */
export function scaleByLearningRate(learningRate: number | Schedule): GradientTransformation {
  const schedule = asSchedule(learningRate);
  return {
    init: () => ({ count: tf.scalar(0, "int32") }),
    update<P extends Params>(updates: P, state: Params) {
      const count = (state as { count?: tf.Tensor } | null)?.count;
      if (!(count instanceof tf.Tensor) || count.rank !== 0) {
        throw new OptimError(
          "scaleByLearningRate",
          "state has no scalar 'count' (was it made by this optimizer's init?)",
        );
      }
      return tidyUpdate<P>(() => {
        const minusLr = tf.neg(schedule(count as tf.Scalar));
        return {
          updates: zipMap([updates], ([u]) => tf.mul(u, minusLr)),
          state: { count: tf.add(count, tf.scalar(1, "int32")) },
        };
      });
    },
  };
}
