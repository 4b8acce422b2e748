/**
 * What the training loop shows and records: a progress line (redrawn in place on a terminal, a plain
 * line every `logEvery` steps elsewhere: notebooks, CI logs, files) and `metrics.jsonl`, one JSON
 * object per line, appended as training goes, so a crash loses at most the unflushed row.
 */
import type { StepMetrics } from "./step.ts";

/** Named numbers from an evaluation (`loss`, `accuracy`, ...). */
export type EvalResult = Readonly<Record<string, number>>;

export type MetricsRow =
  | ({
    readonly split: "train";
    readonly step: number;
    readonly stepsPerSec: number;
    readonly elapsedSec: number;
  } & StepMetrics)
  | {
    readonly split: "eval";
    readonly step: number;
    readonly best: boolean;
    readonly [metric: string]: number | string | boolean;
  };

const utf8 = new TextEncoder();

/** Appends rows as JSON lines. */
export async function appendRows(path: string, rows: readonly MetricsRow[]): Promise<void> {
  await Deno.writeFile(path, utf8.encode(rows.map((r) => JSON.stringify(r) + "\n").join("")), {
    append: true,
  });
}

/** Reads metrics.jsonl (an absent file is empty); a torn last line (a crash mid-write) is skipped. */
export async function readMetrics(path: string): Promise<MetricsRow[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const rows: MetricsRow[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // only a line cut by a crash can be malformed: the file is ours and append-only
    }
  }
  return rows;
}

/**
 * Makes metrics.jsonl continue at `step`: rows of later steps (logged after the checkpoint the run
 * resumes from) are dropped, so the file describes one run without duplicates. Returns the best
 * eval value recorded up to `step`.
 */
export async function prepareMetrics(
  path: string,
  step: number,
  best: { readonly metric: string; readonly mode: "min" | "max" },
): Promise<{ step: number; value: number } | undefined> {
  const rows = (await readMetrics(path)).filter((r) => r.step <= step);
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.writeTextFile(tmp, rows.map((r) => JSON.stringify(r) + "\n").join(""));
  await Deno.rename(tmp, path);
  let found: { step: number; value: number } | undefined;
  for (const r of rows) {
    const v = r.split === "eval" ? (r as Record<string, unknown>)[best.metric] : undefined;
    if (typeof v !== "number") continue;
    if (!found || (best.mode === "min" ? v < found.value : v > found.value)) {
      found = { step: r.step, value: v };
    }
  }
  return found;
}

/** `label total 3.41 latent 0.12 ...` with 4 significant digits. */
export function formatLine(label: string, values: Readonly<Record<string, number>>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`);
  return [label, ...parts].join("  ");
}

function duration(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const SHORT: Record<keyof StepMetrics, string> = {
  total: "loss",
  latent: "latent",
  reconstruction: "recon",
  text: "text",
  gradNorm: "|g|",
  lr: "lr",
};

export type ProgressBar = {
  /** Shows step `step`; on a logging step returns the timing fields of its metrics row. */
  step(step: number, metrics: StepMetrics): { stepsPerSec: number; elapsedSec: number } | undefined;
  /** A line of its own (an eval result) that the bar does not overwrite. */
  note(line: string): void;
  finish(reason: string, step: number): void;
};

/** The progress display; `now` (ms) is injectable for tests. */
export function progressBar(o: {
  readonly total: number;
  readonly start: number;
  readonly tty: boolean;
  readonly logEvery: number;
  readonly write: (text: string) => void;
  readonly now?: () => number;
}): ProgressBar {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  let lastDraw = -Infinity;
  let drawn = false;
  const width = String(o.total).length;
  const line = (step: number, m: StepMetrics, rate: number) => {
    const values = Object.fromEntries(
      (Object.keys(SHORT) as (keyof StepMetrics)[]).map((k) => [SHORT[k], m[k]]),
    );
    const eta = rate > 0 ? duration((o.total - step) / rate) : "?";
    return formatLine(`step ${String(step).padStart(width)}/${o.total}`, values) +
      `  ${rate.toFixed(2)} steps/s  ETA ${eta}`;
  };
  const clear = () => {
    if (drawn) o.write("\r\x1b[2K");
    drawn = false;
  };
  return {
    step(step, m) {
      const t = now();
      const elapsedSec = (t - t0) / 1000;
      const stepsPerSec = elapsedSec > 0 ? (step - o.start) / elapsedSec : 0;
      const logging = step % o.logEvery === 0 || step === o.total;
      if (o.tty) {
        if (t - lastDraw >= 100 || step === o.total) {
          const filled = Math.round((20 * step) / o.total);
          clear();
          o.write(`[${"#".repeat(filled)}${".".repeat(20 - filled)}] ${line(step, m, stepsPerSec)}`);
          drawn = true;
          lastDraw = t;
        }
      } else if (logging) {
        o.write(line(step, m, stepsPerSec) + "\n");
      }
      return logging ? { stepsPerSec, elapsedSec } : undefined;
    },
    note(text) {
      clear();
      o.write(text + "\n");
    },
    finish(reason, step) {
      if (drawn) o.write("\n"); // keep the last bar
      drawn = false;
      o.write(`Training ${reason} at step ${step}/${o.total} after ${duration((now() - t0) / 1000)}\n`);
    },
  };
}
