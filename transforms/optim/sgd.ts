/**
 * Stochastic gradient descent with optional (Nesterov) momentum, as optax.sgd and PyTorch's SGD:
 *   t <- momentum * t + g;   update = -lr * t            (heavy ball)
 *   update = -lr * (g + momentum * t)                     (Nesterov, with the new t)
 * With a constant rate this equals Keras' SGD (which folds lr into its velocity).
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  chain,
  checkRange,
  type GradientTransformation,
  OptimError,
  type Params,
  tidyUpdate,
  zipMap,
} from "./chain.ts";
import { scaleByLearningRate, type Schedule } from "./schedule.ts";

/** Momentum trace; state {trace} mirrors params. */
export function trace(
  { decay, nesterov = false }: { readonly decay: number; readonly nesterov?: boolean },
): GradientTransformation {
  checkRange("trace", "decay", decay, 0, 1, true);
  return {
    init: (params) => ({ trace: zipMap([params], ([p]) => tf.zerosLike(p)) }),
    update<P extends Params>(grads: P, state: Params) {
      const prev = (state as { trace?: Params } | null)?.trace;
      if (prev === undefined) {
        throw new OptimError("trace", "state needs {trace} (was it made by this optimizer's init?)");
      }
      return tidyUpdate<P>(() => {
        const next = zipMap([grads, prev], ([g, t]) => tf.add(g, tf.mul(t, decay)));
        const updates = nesterov
          ? zipMap([grads, next], ([g, t]) => tf.add(g, tf.mul(t, decay)))
          : zipMap([next], ([t]) => tf.clone(t));
        return { updates, state: { trace: next } };
      });
    },
  };
}

export type SgdOptions = {
  readonly learningRate: number | Schedule;
  /** Momentum decay in [0, 1); 0 (the default) means plain SGD with no trace in the state. */
  readonly momentum?: number;
  readonly nesterov?: boolean;
};

export function sgd({ learningRate, momentum = 0, nesterov = false }: SgdOptions): GradientTransformation {
  if (nesterov && momentum === 0) throw new OptimError("sgd", "nesterov needs a momentum > 0");
  return momentum === 0
    ? chain(scaleByLearningRate(learningRate))
    : chain(trace({ decay: momentum, nesterov }), scaleByLearningRate(learningRate));
}
