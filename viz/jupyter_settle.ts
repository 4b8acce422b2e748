/**
 * Makes the Deno kernel finish publishing a cell's outputs before it reports the cell done, so that a
 * plain `jupyter nbconvert --execute` (or JupyterLab, or nbclient) keeps every picture. Called once,
 * in a notebook's first cell: `settleJupyterOutputs()`.
 *
 * Why: in the Deno kernel (2.9) the REPL thread hands every output (the cell's value, each
 * `Deno.jupyter.display`, each print) to a channel that a separate task drains, signs and publishes,
 * while the cell's own path publishes `execute_reply` and the `idle` status directly. A picture's
 * message (tens of KB of PNG and SVG) can finish signing after the small `idle`, and Jupyter clients
 * stop listening to a cell at its `idle`: the picture is silently dropped (measured: 1 of 3 runs of
 * 00_smoke with nbconvert 7.17). The kernel awaits `broadcastResult`, which publishes the cell's value,
 * before it replies; wrapping it so that it also waits `settleMs` gives the drain that time after
 * every cell, whatever the cell displayed or printed before it ended.
 */

/** The kernel's internals this touches (Deno's `Deno[Deno.internal].jupyter`). */
type Publisher = ((executionCount: number, result: unknown) => Promise<void>) & { original?: Publisher };
type KernelInternals = { broadcastResult?: Publisher };

function kernelInternals(): KernelInternals | undefined {
  const deno = Deno as unknown as Record<symbol, { jupyter?: KernelInternals } | undefined>;
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  return internal === undefined ? undefined : deno[internal]?.jupyter;
}

export type SettleOptions = {
  /** How long each cell waits, after its value is published, for its outputs to go out. */
  readonly settleMs?: number;
};

/**
 * Wraps the kernel's result publisher so that every cell waits `settleMs` (default 400: 100 lost a picture once under a loaded 2-core test run) before the
 * kernel reports it done. Calling it again (re-running the first cell) only updates the wait. Throws
 * outside the Deno kernel, or on a Deno whose kernel has no `broadcastResult` to wrap.
 */
export function settleJupyterOutputs(opts: SettleOptions = {}): void {
  const settleMs = opts.settleMs ?? 400;
  if (!(settleMs >= 0) || !Number.isFinite(settleMs)) {
    throw new Error(`Cannot settle Jupyter outputs: expected settleMs >= 0, got ${settleMs}`);
  }
  const jupyter = kernelInternals();
  const current = jupyter?.broadcastResult;
  if (!jupyter || typeof current !== "function") {
    throw new Error(
      `Cannot settle Jupyter outputs: not in the Deno Jupyter kernel (Deno ${Deno.version.deno} has no kernel result publisher here)`,
    );
  }
  const original = current.original ?? current; // re-running the first cell wraps the kernel's own, once
  const settled: Publisher = async (executionCount, result) => {
    await original(executionCount, result);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  };
  settled.original = original;
  jupyter.broadcastResult = settled;
}
