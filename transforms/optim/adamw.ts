/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", Alg. 2), as
 * optax.adamw composes it: scaleByAdam, then + weightDecay * param on the leaves the mask selects,
 * then * -lr(step). So one step is
 *   p <- p - lr(t) * (m_hat / (sqrt(v_hat) + eps) + wd * p)
 *   m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)   (t = updates done, counting this one)
 * which is also PyTorch's AdamW. Keras puts eps outside the bias correction (sqrt(v) + eps), which
 * only differs when sqrt(v_hat) is comparable to eps.
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

/** Decides from a leaf's path (and shape) whether weight decay applies to it. */
export type DecayMask = (path: string, leaf: { readonly shape: readonly number[] }) => boolean;

const NO_DECAY_LEAF = new Set(["b", "bias", "scale", "gamma", "beta", "offset"]);
const NO_DECAY_SEGMENT = /norm|embed|pos_emb|^ln(_|\d|$)/;

/**
 * The default mask: decay weight matrices only. A leaf is NOT decayed when
 * - its last path segment is a bias or a norm parameter: `b`, `bias`, `scale`, `gamma`, `beta`, `offset`;
 * - any segment names a norm or an embedding: contains `norm`, `embed` or `pos_emb`, or is `ln`,
 *   `ln1`, `ln_f`... (`video_encoder/pos_emb`, `text_decoder/embed/w`, `blocks/3/norm1/scale`);
 * - it has rank < 2 (vectors and scalars: gates, temperatures), as in nanoGPT's configure_optimizers.
 * Everything else (`blocks/3/attn/q/w`, `mlp/fc1/w`) is decayed.
 */
export const decayByDefault: DecayMask = (path, leaf) => {
  const segments = path.split("/");
  if (NO_DECAY_LEAF.has(segments[segments.length - 1])) return false;
  if (segments.some((s) => NO_DECAY_SEGMENT.test(s))) return false;
  return leaf.shape.length >= 2;
};

export type AdamOptions = { readonly b1?: number; readonly b2?: number; readonly eps?: number };

type AdamState = { count: tf.Scalar; mu: Params; nu: Params };

/** Adam's moment estimates and bias correction. State {count, mu, nu}; mu and nu mirror params. */
export function scaleByAdam({ b1 = 0.9, b2 = 0.999, eps = 1e-8 }: AdamOptions = {}): GradientTransformation {
  checkRange("scaleByAdam", "b1", b1, 0, 1, true);
  checkRange("scaleByAdam", "b2", b2, 0, 1, true);
  checkRange("scaleByAdam", "eps", eps, 0, Infinity);
  return {
    init: (params) => ({
      count: tf.scalar(0, "int32"),
      mu: zipMap([params], ([p]) => tf.zerosLike(p)),
      nu: zipMap([params], ([p]) => tf.zerosLike(p)),
    }),
    update<P extends Params>(grads: P, state: Params) {
      const s = state as AdamState | null;
      if (!s || !(s.count instanceof tf.Tensor) || s.mu === undefined || s.nu === undefined) {
        throw new OptimError(
          "scaleByAdam",
          "state needs {count, mu, nu} (was it made by this optimizer's init?)",
        );
      }
      return tidyUpdate<P>(() => {
        const mu = zipMap([grads, s.mu], ([g, m]) => tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        const nu = zipMap([grads, s.nu], ([g, v]) => tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const count = tf.add(s.count, tf.scalar(1, "int32")) as tf.Scalar;
        const t = tf.cast(count, "float32");
        const correction1 = tf.sub(1, tf.pow(tf.scalar(b1), t)); // 1 - b1^t
        const correction2 = tf.sub(1, tf.pow(tf.scalar(b2), t)); // 1 - b2^t
        const updates = zipMap(
          [mu, nu],
          ([m, v]) => tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), eps)),
        );
        return { updates, state: { count, mu, nu } };
      });
    },
  };
}

/** updates + weightDecay * params on the leaves `mask` selects; stateless. */
export function addDecayedWeights(
  weightDecay: number,
  mask: DecayMask = decayByDefault,
): GradientTransformation {
  checkRange("addDecayedWeights", "weightDecay", weightDecay, 0, Infinity);
  return {
    init: () => ({}),
    update<P extends Params>(updates: P, _state: Params, params?: P) {
      if (weightDecay !== 0 && params === undefined) {
        throw new OptimError(
          "addDecayedWeights",
          "update() needs params to decay (pass them as the third argument)",
        );
      }
      return tidyUpdate<P>(() => ({
        updates: weightDecay === 0 ? zipMap([updates], ([u]) => tf.clone(u)) : zipMap(
          [updates, params!],
          ([u, p], path) => (mask(path, p) ? tf.add(u, tf.mul(p, weightDecay)) : tf.clone(u)),
        ),
        state: {},
      }));
    },
  };
}

export type AdamWOptions = AdamOptions & {
  readonly learningRate: number | Schedule;
  /** Decoupled weight decay, multiplied by the learning rate (default 1e-4, as optax.adamw). */
  readonly weightDecay?: number;
  /** Which leaves are decayed (default `decayByDefault`: weight matrices, not norms/biases/embeddings). */
  readonly mask?: DecayMask;
};

/** AdamW: chain(scaleByAdam, addDecayedWeights, scaleByLearningRate). */
export function adamw(o: AdamWOptions): GradientTransformation {
  return chain(
    scaleByAdam(o),
    addDecayedWeights(o.weightDecay ?? 1e-4, o.mask),
    scaleByLearningRate(o.learningRate),
  );
}
