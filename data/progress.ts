/**
 * A progress display for long decodes: items done (of the total when known), items/s, errors so
 * far, elapsed time and an ETA. On a terminal it redraws one line in place (at most 10 times a
 * second); otherwise (a notebook, a CI log) it prints a plain line every `intervalMs`, so logs stay
 * readable. Feed it with `batches(..., { onItem: p.tick })` and call `finish()` at the end.
 */

export type ProgressOptions = {
  readonly label: string;
  readonly total?: number;
  /** default: stderr */
  readonly write?: (text: string) => void;
  /** default: whether stderr is a terminal */
  readonly isTty?: boolean;
  /** period of plain (non-TTY) lines; default 5000 ms */
  readonly intervalMs?: number;
  /** clock in ms, for tests; default performance.now */
  readonly now?: () => number;
};

export type ProgressSnapshot = {
  readonly done: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly itemsPerSecond: number;
};

export type Progress = {
  /** one item finished, decoded (`ok`) or failed */
  readonly tick: (event: { readonly ok: boolean }) => void;
  /** prints the final line (ending the TTY line) */
  readonly finish: () => void;
  readonly snapshot: () => ProgressSnapshot;
};

const TTY_REDRAW_MS = 100;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** `label: 120/2990 items (4.0%), 12.3 items/s, 2 errors, 9s elapsed, ETA 3m53s` */
export function formatProgress(label: string, s: ProgressSnapshot, total?: number): string {
  const count = total === undefined
    ? `${s.done} items`
    : `${s.done}/${total} items (${total > 0 ? ((100 * s.done) / total).toFixed(1) : "100.0"}%)`;
  const parts = [
    `${label}: ${count}`,
    `${s.itemsPerSecond.toFixed(1)} items/s`,
    `${s.errors} error${s.errors === 1 ? "" : "s"}`,
    `${duration(s.elapsedMs)} elapsed`,
  ];
  if (total !== undefined && s.itemsPerSecond > 0 && s.done < total) {
    parts.push(`ETA ${duration(((total - s.done) / s.itemsPerSecond) * 1000)}`);
  }
  return parts.join(", ");
}

function stderrWriter(): (text: string) => void {
  const encoder = new TextEncoder();
  return (text) => void Deno.stderr.writeSync(encoder.encode(text));
}

export function progress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const write = options.write ?? stderrWriter();
  const isTty = options.isTty ?? Deno.stderr.isTerminal();
  const interval = options.intervalMs ?? 5000;
  const start = now();
  let done = 0, errors = 0, lastPrint = start, finished = false;
  const snapshot = (): ProgressSnapshot => {
    const elapsedMs = now() - start;
    return { done, errors, elapsedMs, itemsPerSecond: elapsedMs > 0 ? (1000 * done) / elapsedMs : 0 };
  };
  const line = () => formatProgress(options.label, snapshot(), options.total);
  return {
    tick: ({ ok }) => {
      done++;
      if (!ok) errors++;
      const t = now();
      if (t - lastPrint < (isTty ? TTY_REDRAW_MS : interval)) return;
      lastPrint = t;
      write(isTty ? `\r\x1b[2K${line()}` : `${line()}\n`);
    },
    finish: () => {
      if (finished) return;
      finished = true;
      write(isTty ? `\r\x1b[2K${line()}\n` : `${line()}\n`);
    },
    snapshot,
  };
}
