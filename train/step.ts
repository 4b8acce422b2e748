/**
 * One optimisation step of Mirasol3B: the loss terms and the gradients in one pass (valueAndGrad
 * with the terms as aux), the global gradient norm and the optimizer update. The step's key (for the
 * Combiner-output masking and dropout) is `stepKey(runKey, step)`: a pure function of the run's key
 * and the step, which the TensorFlow driver derives in its graph the same way, so both train the
 * same masks. The config's loss weights (pretraining 1:1:1, finetuning text x10: `forFinetuning`) are
 * applied inside `loss`, so the gradient is that of the weighted total.
 *
 * Memory contract: the inputs (params, optState, batch) are neither changed nor disposed; the
 * result holds only fresh tensors; everything else made here is disposed before returning. A loop
 * disposes the old params and state itself once it has the new ones (see train/loop.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { valueAndGrad } from "../transforms/grad.ts";
import { globalNorm } from "../transforms/optim/clip.ts";
import { applyUpdates, type GradientTransformation, type OptState } from "../transforms/optim/chain.ts";
import type { Schedule } from "../transforms/optim/schedule.ts";
import { foldIn, type HostKey, type Key } from "../transforms/random.ts";
import { type Tree, treeDispose } from "../transforms/tree.ts";
import type { MirasolConfig } from "../model/config.ts";
import type { MirasolBatch } from "../model/inputs.ts";
import { loss, type MirasolParams } from "../model/mirasol.ts";

/** What one step reports, read back from the backend as plain numbers. */
export type StepMetrics = {
  /** Weighted total (what is minimised). */
  readonly total: number;
  readonly latent: number;
  readonly reconstruction: number;
  readonly text: number;
  /** Global L2 norm of the gradients, before any clipping the optimizer does. */
  readonly gradNorm: number;
  /** Learning rate used by this update (`schedule` at `step`); NaN when no schedule was given. */
  readonly lr: number;
};

export const METRIC_NAMES = ["total", "latent", "reconstruction", "text", "gradNorm", "lr"] as const;

export type TrainStepOptions = {
  readonly config: MirasolConfig;
  readonly optimizer: GradientTransformation;
  /** The optimizer's learning-rate schedule, only to report `metrics.lr`. */
  readonly schedule?: Schedule | number;
  /** Updates done before this one (the schedule's argument); default 0. */
  readonly step?: number;
};

export type TrainStepResult<P extends MirasolParams = MirasolParams> = {
  readonly params: P;
  readonly optState: OptState;
  readonly metrics: StepMetrics;
};

/**
 * The key of update `step` (0-based) on data-parallel replica `replica`: foldIn(foldIn(run, step),
 * replica). TypeScript trains as replica 0; the TensorFlow driver folds in each replica's id, so
 * replicas draw different masks while one seed fixes the whole run.
 */
export function stepKey<K extends Key = HostKey>(run: K, step: number, replica = 0): K {
  return foldIn(foldIn(run, step), replica);
}

export class TrainStepError extends Error {
  override readonly name = "TrainStepError";
}

type Terms = { latent: tf.Scalar; reconstruction: tf.Scalar; text: tf.Scalar };

const lossAndGrads = valueAndGrad(
  (p: MirasolParams, batch: MirasolBatch, config: MirasolConfig, key: Key) => {
    const out = loss(p, batch, { config, train: true, key });
    const aux: Terms = { latent: out.latent, reconstruction: out.reconstruction, text: out.text };
    return { loss: out.total, aux };
  },
  { hasAux: true },
);

/**
 * One training step with `key` (see `stepKey`): `params - lr * update(grad total loss)`. The metrics
 * are read back with one synchronous read of a 6-vector (the loop needs them for logs and to stop on
 * NaN anyway).
 */
export function trainStep<P extends MirasolParams>(
  params: P,
  optState: OptState,
  batch: MirasolBatch,
  key: Key,
  opts: TrainStepOptions,
): TrainStepResult<P> {
  const { value, aux, grads } = lossAndGrads(params, batch, opts.config, key);
  const gradTree = grads;
  let update: { updates: Tree<tf.Tensor>; state: OptState } | undefined;
  try {
    update = opts.optimizer.update(gradTree, optState, params);
    const newParams = applyUpdates(params, update.updates);
    const values = tf.tidy(() => {
      const lr = opts.schedule === undefined
        ? tf.scalar(NaN)
        : typeof opts.schedule === "number"
        ? tf.scalar(opts.schedule)
        : opts.schedule(tf.scalar(opts.step ?? 0, "int32"));
      // [6] in METRIC_NAMES order
      return tf.stack([value, aux.latent, aux.reconstruction, aux.text, globalNorm(gradTree), lr]);
    });
    const read = values.dataSync();
    values.dispose();
    const metrics = Object.fromEntries(METRIC_NAMES.map((n, i) => [n, read[i]])) as StepMetrics;
    return { params: newParams, optState: update.state, metrics };
  } finally {
    value.dispose();
    treeDispose(aux);
    treeDispose(gradTree);
    if (update) treeDispose(update.updates);
  }
}
