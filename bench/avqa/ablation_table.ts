/**
 * The ablation grid's tables, rebuilt from whatever result files are on disk: one row per ablation
 * with the mean +- sample standard deviation over its finished seeds, a detail table with every seed's
 * number, and the collapse diagnostics the TF driver logged while training (metrics.jsonl).
 *
 * A difference between two rows is called real here only when it is larger than the sum of their
 * standard deviations ("separated"); with 3 seeds that is a rough bar, and the tables say n.
 */
import type { QuestionType } from "../../data/synthetic.ts";
import { QUESTION_TYPES, TYPE_LETTER } from "./task.ts";

/** What one finished (row, seed) run leaves in its result.json. */
export type SeedResult = {
  readonly seed: number;
  readonly byType: Readonly<Record<QuestionType, number>>;
  readonly mean: number;
  readonly steps: number;
  readonly stepsPerSecond: number;
  /** collapse diagnostics at the end of training (mean over the last logged quarter), if logged */
  readonly collapse?: CollapseSummary;
};

/** The driver's diag_* metrics, and the latent loss term, averaged over the last part of training. */
export type CollapseSummary = {
  readonly latent: number;
  readonly latent_shuffled: number;
  readonly x_rank: number;
  readonly x_spread_samples: number;
  readonly x_spread_tokens: number;
  /** the same five at the first logged step, to see where they started */
  readonly first: Omit<CollapseSummary, "first">;
};

export type Spread = { readonly mean: number; readonly sd: number; readonly n: number };

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function spreadOf(xs: readonly number[]): Spread {
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** Whether two rows differ by more than the sum of their spreads (both need >= 2 seeds). */
export function separated(a: Spread, b: Spread): boolean {
  return a.n >= 2 && b.n >= 2 && Math.abs(a.mean - b.mean) > a.sd + b.sd;
}

const DIAG_KEYS = ["latent", "latent_shuffled", "x_rank", "x_spread_samples", "x_spread_tokens"] as const;

/**
 * The collapse summary of a driver run's metrics.jsonl lines: `diag_<k>` for the diagnostics, and
 * the diagnostics' own `diag_latent` (inference semantics) for the latent loss. Undefined when the
 * run logged no diagnostics (an export without the `diagnostics` signature).
 */
export function collapseOf(lines: readonly Record<string, number>[]): CollapseSummary | undefined {
  const logged = lines.filter((l) => DIAG_KEYS.every((k) => Number.isFinite(l[`diag_${k}`])));
  if (logged.length === 0) return undefined;
  const tail = logged.slice(Math.floor(logged.length * 0.75));
  const at = (ls: readonly Record<string, number>[]) =>
    Object.fromEntries(DIAG_KEYS.map((k) => [k, spreadOf(ls.map((l) => l[`diag_${k}`])).mean])) as Omit<
      CollapseSummary,
      "first"
    >;
  return { ...at(tail), first: at(logged.slice(0, 1)) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pm = (s: Spread) =>
  s.n === 0 ? "–" : s.n === 1 ? pct(s.mean) : `${pct(s.mean)} ± ${(100 * s.sd).toFixed(1)}`;

export type GridRow = {
  readonly name: string;
  readonly about: string;
  readonly seeds: readonly SeedResult[];
};

/** Per question type and overall: mean +- sd over the row's seeds. */
export function rowSpreads(r: GridRow): Record<QuestionType | "mean", Spread> {
  return Object.fromEntries([
    ...QUESTION_TYPES.map((t) => [t, spreadOf(r.seeds.map((s) => s.byType[t]))]),
    ["mean", spreadOf(r.seeds.map((s) => s.mean))],
  ]) as Record<QuestionType | "mean", Spread>;
}

/** The summary table: mean +- sd per question type, and whether the row's mean separates from `reference`'s. */
export function summaryTable(rows: readonly GridRow[], reference = "full"): string {
  const ref = rows.find((r) => r.name === reference);
  const refMean = ref ? rowSpreads(ref).mean : undefined;
  const head = `| run | seeds | ${
    QUESTION_TYPES.map((t) => `(${TYPE_LETTER[t]})`).join(" | ")
  } | mean | vs ${reference} | about |`;
  const rule = `|---|--:|${QUESTION_TYPES.map(() => "--:").join("|")}|--:|---|---|`;
  const lines = [head, rule];
  for (const r of rows) {
    const s = rowSpreads(r);
    const vs = r.name === reference || !refMean
      ? ""
      : refMean.n < 2 || s.mean.n < 2
      ? "n < 2"
      : separated(s.mean, refMean)
      ? (s.mean.mean > refMean.mean ? "better" : "worse")
      : "within spread";
    lines.push(
      `| ${r.name} | ${r.seeds.map((x) => x.seed).join(",")} | ${
        QUESTION_TYPES.map((t) => pm(s[t])).join(" | ")
      } | ${pm(s.mean)} | ${vs} | ${r.about} |`,
    );
  }
  return lines.join("\n");
}

/** Every seed's numbers, one line per (row, seed). */
export function detailTable(rows: readonly GridRow[]): string {
  const head = `| run | seed | ${
    QUESTION_TYPES.map((t) => `(${TYPE_LETTER[t]})`).join(" | ")
  } | mean | steps/s |`;
  const rule = `|---|--:|${QUESTION_TYPES.map(() => "--:").join("|")}|--:|--:|`;
  const lines = [head, rule];
  for (const r of rows) {
    for (const s of r.seeds) {
      lines.push(
        `| ${r.name} | ${s.seed} | ${QUESTION_TYPES.map((t) => pct(s.byType[t])).join(" | ")} | ${
          pct(s.mean)
        } | ${s.stepsPerSecond.toFixed(1)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Collapse diagnostics per row (mean over seeds of the end-of-training values; first logged step in brackets). */
export function collapseTable(rows: readonly GridRow[]): string {
  const head =
    "| run | seeds | latent loss | shuffled-target latent loss | x effective rank | x spread across samples | x spread across tokens |";
  const lines = [head, "|---|--:|--:|--:|--:|--:|--:|"];
  const f = (x: number) => x.toPrecision(3);
  for (const r of rows) {
    const withDiag = r.seeds.filter((s) => s.collapse);
    if (withDiag.length === 0) continue;
    const cell = (k: (typeof DIAG_KEYS)[number]) => {
      const end = spreadOf(withDiag.map((s) => s.collapse![k])),
        start = spreadOf(withDiag.map((s) => s.collapse!.first[k]));
      return `${f(end.mean)}${end.n > 1 ? ` ± ${f(end.sd)}` : ""} (${f(start.mean)})`;
    };
    lines.push(`| ${r.name} | ${withDiag.length} | ${DIAG_KEYS.map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}
