/**
 * A SIGKILL loop for the TF driver's weight writer (export/tf/_driver_weights.py write_weights:
 * SaveV2, then checkpoint.json as the commit point). Each child writes checkpoints back to back and
 * is killed at a seeded random moment; the next child reads the committed checkpoint with
 * read_params (it must be one whole step, the last or the one being committed) and its first write
 * must leave exactly one bundle and no temp. TensorFlow takes seconds to import, so children are
 * started ahead and wait on stdin until their predecessor is dead.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";

await setBackend("wasm");

const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const CHILD = new URL("./tf_weights_kill_child.py", import.meta.url).pathname;
const KILLS = 10;

type Row = { ready?: true; loaded?: number | null; whole?: boolean; wrote?: number; files?: string[] };
type Child = { proc: Deno.ChildProcess; rows: Row[]; go: () => Promise<void> };

function spawn(out: string): Child {
  const proc = new Deno.Command(PYTHON, {
    args: [CHILD, out],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env: { TF_CPP_MIN_LOG_LEVEL: "3" },
  }).spawn();
  const rows: Row[] = [];
  (async () => {
    let rest = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      rows.push(...lines.filter((l) => l).map((l) => JSON.parse(l) as Row));
    }
  })().catch(() => {});
  const go = async () => {
    const w = proc.stdin.getWriter();
    await w.write(new TextEncoder().encode("go\n"));
    w.releaseLock();
  };
  return { proc, rows, go };
}

async function waitFor(c: Child, has: (r: Row) => boolean, what: string): Promise<Row> {
  for (let i = 0; i < 12000; i++) { // 60 s: TensorFlow imports slowly on a busy machine
    const row = c.rows.find(has);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`the writer never reported ${what}`);
}

function seeded(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

Deno.test(`write_weights SIGKILLed at ${KILLS} random moments: read_params always gets one whole step, and the next write leaves one bundle and no temp`, async () => {
  const out = await Deno.makeTempDir({ prefix: "tf_weights_kill_" });
  const rand = seeded(23), pool = [spawn(out), spawn(out), spawn(out)];
  let spawned = pool.length;
  let lastWrote: number | null = null;
  const killedAt: number[] = [];
  let killedInside = 0;
  for (let run = 0; run <= KILLS; run++) {
    const c = pool.shift()!;
    if (spawned++ <= KILLS) pool.push(spawn(out));
    await waitFor(c, (r) => r.ready === true, "ready");
    await c.go();
    const loaded = await waitFor(c, (r) => "loaded" in r, "what it loaded");
    assert.ok(
      loaded.whole,
      `run ${run}: read_params got a mixed or partial checkpoint of step ${loaded.loaded}`,
    );
    // the kill may land after checkpoint.json was replaced but before "wrote" was printed
    const allowed: (number | null)[] = lastWrote === null ? [null, 1] : [lastWrote, lastWrote + 1];
    assert.ok(
      allowed.includes(loaded.loaded ?? null),
      `run ${run}: loaded step ${loaded.loaded}, wrote ${lastWrote}`,
    );
    // leftovers of the killed writer: a SaveV2 .tempstate, a bundle not committed, a sidecar temp
    if (loaded.files!.length > 4) killedInside++;
    const first = await waitFor(c, (r) => "wrote" in r, "a write");
    const prefix = first.files!.find((f) => f.endsWith(".index"))!.replace(/\.index$/, "");
    assert.deepEqual(
      first.files,
      ["checkpoint", "checkpoint.json", `${prefix}.data-00000-of-00001`, `${prefix}.index`],
      `run ${run}: stale files after the first write`,
    );
    if (run < KILLS) await new Promise((r) => setTimeout(r, rand() * 400));
    c.proc.kill("SIGKILL");
    await c.proc.status;
    await c.proc.stdin.close().catch(() => {});
    const wrote = c.rows.filter((r) => r.wrote !== undefined).map((r) => r.wrote!);
    lastWrote = wrote[wrote.length - 1] as number;
    killedAt.push(wrote.length);
    // train/checkpoint.ts reads the same directory: whatever is committed loads, CRCs checked
    const ckpt = await loadCheckpoint(out);
    const leaves = [ckpt.params as Record<string, Record<string, tf.Tensor>>].flatMap((p) =>
      Object.values(p).flatMap((l) => Object.values(l))
    );
    const step = ckpt.step;
    assert.ok(
      step === lastWrote || step === lastWrote + 1,
      `loadCheckpoint step ${step}, wrote ${lastWrote}`,
    );
    for (const t of leaves) {
      assert.deepEqual([tf.min(t).dataSync()[0], tf.max(t).dataSync()[0]], [step, step]);
    }
    tf.dispose(leaves);
  }
  for (const c of pool) c.proc.kill("SIGKILL");
  console.log(
    `writes completed before each kill: ${killedAt.join(" ")}; killed inside a write ${killedInside} times`,
  );
  await Deno.remove(out, { recursive: true });
});
