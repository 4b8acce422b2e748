/**
 * The training loop: AdamW with linear warm-up + cosine decay and global-norm clipping over
 * `trainStep`, with a progress display, metrics as JSON lines, periodic evaluation (keeping the
 * best checkpoint), periodic and final checkpoints, and a clean stop on Ctrl-C or an AbortSignal.
 *
 * Layout of `out`:
 *   out/ckpt/           the latest checkpoint (train/checkpoint.ts), every `checkpointEvery` and at the end
 *   out/best/           the checkpoint with the best eval metric (only with `evalFn`)
 *   out/metrics.jsonl   one JSON row per logged step ({"split":"train",...}) and per eval ({"split":"eval",...})
 *   out/run.json        the hyperparameters; `resume` refuses others, since they change the run
 *
 * Resuming is bit-identical to an uninterrupted run: the checkpoint holds params, optimizer state
 * (moments, counts), the step and the PRNG key, and the batch of step s is `data(s)` (a function),
 * or the (s+1)-th item of an iterable, which is fast-forwarded past the steps already done.
 */
import { requireFits } from "./memory.ts";
import * as tf from "@tensorflow/tfjs-core";
import type { Batch } from "../data/types.ts";
import { batchReader, type BatchSource } from "./sources.ts";

export type { BatchSource };
import { adamw } from "../transforms/optim/adamw.ts";
import { chain, type GradientTransformation, type OptState } from "../transforms/optim/chain.ts";
import { clipByGlobalNorm } from "../transforms/optim/clip.ts";
import { type Schedule, warmupCosine } from "../transforms/optim/schedule.ts";
import { type HostKey, keysFor, PRNGKey } from "../transforms/random.ts";
import { type Tree, treeDispose, treeMap } from "../transforms/tree.ts";
import { batchTensors, disposeBatch, isTensorBatch } from "./batch_tensors.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { MirasolConfig } from "../model/config.ts";
import type { MirasolBatch } from "../model/inputs.ts";
import { init, type MirasolParams } from "../model/mirasol.ts";
import { stepKey, type StepMetrics, trainStep } from "./step.ts";
import {
  appendRows,
  type EvalResult,
  formatLine,
  type MetricsRow,
  prepareMetrics,
  progressBar,
} from "./log.ts";

export type TrainOptions = {
  readonly config: MirasolConfig;
  /** Start from these params (not disposed, not changed) instead of `init(seed)`; ignored on resume. */
  readonly params?: MirasolParams;
  readonly data: BatchSource;
  /** Total updates: the run ends when the step count reaches it (also when resuming). */
  readonly steps: number;
  /** Examples per batch; a batch with more rows is an error, a shorter (last) one is allowed. */
  readonly batchSize: number;
  /** Peak learning rate of the warm-up + cosine schedule. */
  readonly lr: number;
  readonly seed: number;
  /** Output folder (created): checkpoints, metrics, run.json. */
  readonly out: string;
  /** Continue from `<out>/ckpt` when there is one (else start at step 0). */
  readonly resume?: boolean;
  /** Linear warm-up steps (default min(100, steps / 10)). */
  readonly warmupSteps?: number;
  /** Where the cosine reaches 0 (default `steps`). */
  readonly decaySteps?: number;
  /** AdamW decoupled weight decay (default 1e-4; not on norms, biases, embeddings). */
  readonly weightDecay?: number;
  /** Global-norm clipping of the gradients (default 1; 0 turns it off). */
  readonly clipNorm?: number;
  /** A train row every `logEvery` steps and at the last step (default 10). */
  readonly logEvery?: number;
  /** Save `<out>/ckpt` every N steps (default 100; always at the end). */
  readonly checkpointEvery?: number;
  /** Run `evalFn` every N steps (default 0: never). */
  readonly evalEvery?: number;
  /** Evaluates the current params (borrowed: do not dispose them) -> named numbers. */
  readonly evalFn?: (
    params: MirasolParams,
    ctx: { step: number; config: MirasolConfig },
  ) => EvalResult | Promise<EvalResult>;
  /** Which eval number picks `<out>/best` (default {metric: "loss", mode: "min"}). */
  readonly best?: { readonly metric: string; readonly mode: "min" | "max" };
  /** Stops after the current step and saves, like Ctrl-C. */
  readonly signal?: AbortSignal;
  /** Stop on SIGINT after the current step and save (default true; a second Ctrl-C quits at once). */
  readonly handleSigint?: boolean;
  /** Called after every step with its metrics (live plots in a notebook). */
  readonly onStep?: (step: number, metrics: StepMetrics) => void;
  /** Where progress lines go (default stderr). */
  readonly write?: (text: string) => void;
  /** Redraw one progress line in place (default: whether stderr is a terminal). */
  readonly tty?: boolean;
};

export type StopReason = "completed" | "aborted" | "interrupted" | "data-exhausted";

export type TrainResult = {
  /** Owned by the caller. */
  readonly params: MirasolParams;
  readonly optState: OptState;
  readonly step: number;
  /** The run's key: step s trains with stepKey(key, s). */
  readonly key: HostKey;
  readonly stopped: StopReason;
  /** The last step's metrics (undefined when no step ran). */
  readonly metrics?: StepMetrics;
  readonly best?: { readonly step: number; readonly value: number };
};

export class TrainError extends Error {
  override readonly name = "TrainError";
}

/** The hyperparameters that shape the run; resume refuses to change them. */
type RunRecord = {
  readonly config: string;
  readonly seed: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly decaySteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly batchSize: number;
};

function checkOptions(o: TrainOptions): void {
  const positive = {
    steps: o.steps,
    batchSize: o.batchSize,
    logEvery: o.logEvery ?? 1,
    checkpointEvery: o.checkpointEvery ?? 1,
  };
  for (const [name, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new TrainError(`Cannot train: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (!(o.lr > 0 && Number.isFinite(o.lr))) {
    throw new TrainError(`Cannot train: lr must be a positive number, got ${o.lr}`);
  }
  if (!Number.isSafeInteger(o.seed)) {
    throw new TrainError(`Cannot train: seed must be an integer, got ${o.seed}`);
  }
  const evalEvery = o.evalEvery ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) {
    throw new TrainError(`Cannot train: evalEvery must be a non-negative integer, got ${evalEvery}`);
  }
}

/** The optimizer `train` uses: clip, then AdamW with warm-up + cosine; and its schedule (for logs). */
export function defaultOptimizer(
  o: Pick<RunRecord, "lr" | "warmupSteps" | "decaySteps" | "weightDecay" | "clipNorm">,
): { optimizer: GradientTransformation; schedule: Schedule } {
  const schedule = warmupCosine({ peakValue: o.lr, warmupSteps: o.warmupSteps, decaySteps: o.decaySteps });
  const adam = adamw({ learningRate: schedule, weightDecay: o.weightDecay });
  return { optimizer: o.clipNorm > 0 ? chain(clipByGlobalNorm(o.clipNorm), adam) : adam, schedule };
}

function runRecord(o: TrainOptions): RunRecord {
  return {
    config: o.config.name,
    seed: o.seed,
    lr: o.lr,
    warmupSteps: o.warmupSteps ?? Math.min(100, Math.floor(o.steps / 10)),
    decaySteps: o.decaySteps ?? o.steps,
    weightDecay: o.weightDecay ?? 1e-4,
    clipNorm: o.clipNorm ?? 1,
    batchSize: o.batchSize,
  };
}

async function checkRunRecord(out: string, run: RunRecord): Promise<void> {
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new TrainError(`Cannot resume from '${out}': run.json is unreadable (${(e as Error).message})`);
  }
  for (const [name, value] of Object.entries(run)) {
    if (stored[name] !== value) {
      throw new TrainError(
        `Cannot resume from '${out}': ${name} is ${JSON.stringify(stored[name])} in run.json but ${
          JSON.stringify(value)
        } now (a resumed run must use the same hyperparameters to continue bit-identically)`,
      );
    }
  }
}

async function hasCheckpoint(dir: string): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/checkpoint.json`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

type State = { params: MirasolParams; optState: OptState; step: number; key: HostKey };

/** Fresh state, or the checkpoint in `<out>/ckpt` (checked against the config and the trees). */
async function startState(
  o: TrainOptions,
  run: RunRecord,
  optimizer: GradientTransformation,
): Promise<State> {
  const ckpt = `${o.out}/ckpt`;
  requireFits(o.config, o.batchSize, tf.getBackend()); // before init: wasm aborts past 4 GiB
  const k = keysFor(PRNGKey(o.seed), ["init", "train"]);
  const fresh = o.params
    ? treeMap(
      o.params,
      (l) => tf.clone(l as tf.Tensor),
    )
    : init(k.init, o.config);
  const optState = optimizer.init(fresh);
  if (!(await hasCheckpoint(ckpt))) return { params: fresh, optState, step: 0, key: k.train };
  if (!o.resume) {
    treeDispose(fresh);
    treeDispose(optState);
    throw new TrainError(
      `Cannot start training in '${o.out}': it already holds a checkpoint; pass resume to continue it, or choose another out`,
    );
  }
  try {
    // The checkpoint check first: it names the first differing leaf or config field.
    const loaded = await loadCheckpoint(ckpt, { config: o.config, like: { params: fresh, optState } });
    try {
      await checkRunRecord(o.out, run);
    } catch (e) {
      treeDispose(loaded.params as Tree<tf.Tensor>);
      treeDispose(loaded.optState as Tree<tf.Tensor>);
      throw e;
    }
    return {
      params: loaded.params,
      optState: loaded.optState,
      step: loaded.step,
      key: loaded.key,
    };
  } finally {
    treeDispose(fresh);
    treeDispose(optState);
  }
}

function toTensors(b: Batch | MirasolBatch, o: TrainOptions, step: number): MirasolBatch {
  const t = isTensorBatch(b) ? b : batchTensors(b, o.config);
  const rows = t.video.shape[0];
  if (rows > o.batchSize) {
    if (!isTensorBatch(b)) disposeBatch(t);
    throw new TrainError(
      `Cannot train on the batch of step ${step}: it has ${rows} examples, more than batchSize ${o.batchSize}`,
    );
  }
  return t;
}

const nextTick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Trains `config` on `data` for `steps` updates; see the module comment. */
/** The second Ctrl-C must quit even while a step blocks this thread: a worker listens for it. */
async function startWatchdog(): Promise<Worker | undefined> {
  try {
    const w = new Worker(new URL("./_sigint_watchdog.ts", import.meta.url).href, { type: "module" });
    await new Promise((ready) => (w.onmessage = ready)); // its listener is in place
    return w;
  } catch {
    return undefined; // no worker (a sandbox): the listener above still quits between steps
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  checkOptions(o);
  const run = runRecord(o);
  const { optimizer, schedule } = defaultOptimizer(run);
  await Deno.mkdir(o.out, { recursive: true }).catch((e: unknown) => {
    const why = e instanceof Deno.errors.AlreadyExists ? "it is a file, not a folder" : (e as Error).message;
    throw new TrainError(`Cannot train into '${o.out}': ${why}`);
  });
  let s = await startState(o, run, optimizer);
  await Deno.writeTextFile(`${o.out}/run.json`, JSON.stringify(run, null, 2) + "\n");
  const metricsPath = `${o.out}/metrics.jsonl`;
  const best = o.best ?? { metric: "loss", mode: "min" as const };
  let bestSoFar = await prepareMetrics(metricsPath, s.step, best);

  const write = o.write ?? ((t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)));
  const bar = progressBar({
    total: o.steps,
    start: s.step,
    tty: o.tty ?? Deno.stderr.isTerminal(),
    write,
    logEvery: o.logEvery ?? 10,
  });
  let stopped: StopReason = "completed";
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) Deno.exit(130);
    write(`\nInterrupted: stopping after step ${s.step + 1} and saving (Ctrl-C again to quit at once)\n`);
  };
  const sigint = o.handleSigint ?? true;
  if (sigint) Deno.addSignalListener("SIGINT", onSigint);
  const watchdog = sigint ? await startWatchdog() : undefined;
  const reader = batchReader(o.data);
  let last: StepMetrics | undefined;
  let savedAt = s.step;
  const save = async () => {
    await saveCheckpoint(`${o.out}/ckpt`, { ...s, config: o.config });
    savedAt = s.step;
  };
  try {
    if (typeof o.data !== "function") { // fast-forward an iterable past the steps already done
      for (let i = 0; i < s.step; i++) {
        const b = await reader.next(i);
        if (b === undefined) break;
        if (isTensorBatch(b)) disposeBatch(b);
      }
    }
    if (s.step === 0 && o.resume) write(`No checkpoint in '${o.out}/ckpt': starting at step 0\n`);
    else if (s.step > 0) write(`Resuming '${o.out}' at step ${s.step}\n`);
    while (s.step < o.steps) {
      if (o.signal?.aborted) {
        stopped = "aborted";
        break;
      }
      if (interrupts > 0) {
        stopped = "interrupted";
        break;
      }
      const raw = await reader.next(s.step);
      if (raw === undefined) {
        stopped = "data-exhausted";
        break;
      }
      const batch = toTensors(raw, o, s.step);
      let r;
      try {
        r = trainStep(s.params, s.optState, batch, stepKey(s.key, s.step), {
          config: o.config,
          optimizer,
          schedule,
          step: s.step,
        });
      } finally {
        disposeBatch(batch);
      }
      if (!Number.isFinite(r.metrics.total)) {
        treeDispose(r.params);
        treeDispose(r.optState);
        throw new TrainError(
          `Cannot continue training: the loss is ${r.metrics.total} at step ${
            s.step + 1
          } (the checkpoint of step ${savedAt} is kept)`,
        );
      }
      treeDispose(s.params);
      treeDispose(s.optState);
      s = { params: r.params, optState: r.optState, step: s.step + 1, key: s.key };
      last = r.metrics;
      o.onStep?.(s.step, r.metrics);
      const logged = bar.step(s.step, r.metrics);
      if (logged) await appendRows(metricsPath, [{ split: "train", step: s.step, ...r.metrics, ...logged }]);
      if ((o.evalEvery ?? 0) > 0 && s.step % o.evalEvery! === 0 && o.evalFn) {
        const result = await o.evalFn(s.params, { step: s.step, config: o.config });
        const value = result[best.metric];
        if (typeof value !== "number") {
          throw new TrainError(
            `Cannot pick the best checkpoint: evalFn returned no number '${best.metric}' (it gave ${
              Object.keys(result).join(", ")
            })`,
          );
        }
        const better = bestSoFar === undefined ||
          (best.mode === "min" ? value < bestSoFar.value : value > bestSoFar.value);
        const row: MetricsRow = { split: "eval", step: s.step, ...result, best: better };
        if (better) {
          await saveCheckpoint(`${o.out}/best`, { ...s, config: o.config });
          bestSoFar = { step: s.step, value };
        }
        await appendRows(metricsPath, [row]);
        bar.note(formatLine(`eval step ${s.step}`, result) + (better ? " (best)" : ""));
      }
      if (s.step % (o.checkpointEvery ?? 100) === 0) await save();
      await nextTick(); // lets a SIGINT or an abort land between steps
    }
    if (savedAt !== s.step || !(await hasCheckpoint(`${o.out}/ckpt`))) await save();
    bar.finish(stopped, s.step);
    return { ...s, stopped, metrics: last, best: bestSoFar };
  } catch (e) {
    bar.finish("failed", s.step);
    treeDispose(s.params);
    treeDispose(s.optState);
    throw e;
  } finally {
    if (sigint) Deno.removeSignalListener("SIGINT", onSigint);
    watchdog?.terminate();
    await reader.close();
  }
}
