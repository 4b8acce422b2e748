/**
 * Inverted dropout (Srivastava et al. 2014): in training each element is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate), so the expectation is unchanged; at inference it is the
 * identity. The keep mask comes from `bernoulli(key, ...)`, generated on the host, so one key drops
 * the same elements on every backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { bernoulli } from "../../transforms/random.ts";
import { ConfigError } from "../errors.ts";

export type DropoutOptions = {
  /** probability of dropping an element, in [0, 1] (1 drops everything) */
  readonly rate: number;
  readonly train: boolean;
  /** required when train is true and rate > 0 */
  readonly key?: Key;
};

/** Returns `x` itself (no copy, nothing random) when !train or rate is 0. */
export function apply(x: tf.Tensor, opts: DropoutOptions): tf.Tensor {
  const { rate, train, key } = opts;
  if (!(rate >= 0 && rate <= 1)) {
    throw new ConfigError({ action: "apply dropout", reason: `rate must be in [0, 1], got ${rate}` });
  }
  if (!train || rate === 0) return x;
  if (!key) {
    throw new ConfigError({
      action: "apply dropout",
      reason: `train is true with rate ${rate} but no key was given`,
    });
  }
  if (rate === 1) return tf.zerosLike(x);
  return tf.tidy(() => {
    const keep = tf.cast(bernoulli(key, 1 - rate, x.shape), x.dtype); // 1 = kept
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
  });
}
