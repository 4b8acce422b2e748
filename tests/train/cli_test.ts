import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { type Tree, treeDispose } from "../../transforms/tree.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { tiny } from "../../model/config.ts";
import { type CliArgs, parseCliArgs, UsageError } from "../../train/cli.ts";
import { readMetrics } from "../../train/log.ts";

await setBackend("wasm");

// What `deno task train` runs (deno.json: "train": "deno run -A train/cli.ts").
const CLI = new URL("../../train/cli.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

function spawn(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

async function run(args: string[]) {
  const out = await spawn(args).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) Object.assign(out, await snapshot(path));
    else out[path] = Array.from(await Deno.readFile(path)).join(",");
  }
  return out;
}

const disposeCkpt = (c: { params: unknown; optState: unknown }) => {
  treeDispose(c.params as Tree<tf.Tensor>);
  treeDispose(c.optState as Tree<tf.Tensor>);
};

Deno.test("deno task train on tiny + synthetic data drives the loss well below its start and writes metrics and a loadable checkpoint", async () => {
  const out = await Deno.makeTempDir();
  const r = await run([
    "--config",
    "tiny",
    "--data",
    "synthetic",
    "--steps",
    "40",
    "--batch",
    "4",
    "--lr",
    "3e-3",
    "--seed",
    "1",
    "--out",
    out,
    "--log-every",
    "1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /step 40\/40 .*steps\/s/); // a plain progress line (stderr is not a TTY here)
  const rows = (await readMetrics(`${out}/metrics.jsonl`)).filter((x) => x.split === "train");
  assert.deepEqual(rows.map((x) => x.step), Array.from({ length: 40 }, (_, i) => i + 1));
  const totals = rows.map((x) => x.total as number);
  const last5 = totals.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(last5 < 0.7 * totals[0], `loss ${totals[0]} -> mean of last 5 ${last5}`);
  for (const k of ["latent", "reconstruction", "text", "gradNorm", "lr", "stepsPerSec"]) {
    assert.ok(rows.every((x) => typeof (x as Record<string, unknown>)[k] === "number"), `rows lack ${k}`);
  }
  const ckpt = await loadCheckpoint(`${out}/ckpt`, { config: tiny });
  assert.equal(ckpt.step, 40);
  disposeCkpt(ckpt);
  await Deno.remove(out, { recursive: true });
});

Deno.test("Ctrl-C (SIGINT) stops deno task train after the current step and leaves a loadable checkpoint of that step", async () => {
  const out = await Deno.makeTempDir();
  const child = spawn([
    "--config",
    "tiny",
    "--data",
    "synthetic",
    "--steps",
    "100000",
    "--batch",
    "1",
    "--out",
    out,
    "--log-every",
    "1",
    "--checkpoint-every",
    "100000",
  ]);
  const metrics = `${out}/metrics.jsonl`;
  for (let i = 0; i < 600; i++) { // wait until a few steps are logged (at most 60 s)
    if ((await readMetrics(metrics)).length >= 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGINT");
  const done = await child.output();
  const stdout = new TextDecoder().decode(done.stdout);
  assert.equal(done.code, 0, new TextDecoder().decode(done.stderr));
  assert.match(stdout, /interrupted at step \d+/);
  const rows = await readMetrics(metrics);
  const lastStep = rows[rows.length - 1].step;
  assert.ok(lastStep >= 3 && lastStep < 100000);
  const ckpt = await loadCheckpoint(`${out}/ckpt`, { config: tiny });
  assert.equal(ckpt.step, lastStep, "the checkpoint is of the last step run");
  disposeCkpt(ckpt);
  await Deno.remove(out, { recursive: true });
});

Deno.test("deno task train --resume with a checkpoint of another config fails naming the mismatch and overwrites nothing", async () => {
  const out = await Deno.makeTempDir();
  assert.equal(
    (await run(["--config", "tiny", "--data", "synthetic", "--steps", "2", "--batch", "1", "--out", out]))
      .code,
    0,
  );
  const before = await snapshot(out);
  const other = `${out}.json`;
  await Deno.writeTextFile(other, JSON.stringify({ ...tiny, width: { ...tiny.width, mlpHidden: 32 } }));
  const r = await run([
    "--config",
    other,
    "--data",
    "synthetic",
    "--steps",
    "4",
    "--batch",
    "1",
    "--out",
    out,
    "--resume",
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Cannot load checkpoint '.*ckpt': params\/backbone\/blocks\/0\/mlp\/fc1\/b is float32 \[48\] in the checkpoint but float32 \[32\] in the model/,
  );
  assert.deepEqual(await snapshot(out), before);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(other);
});

Deno.test("deno task train with bad flags exits with code 2 and says which flag was wrong", async () => {
  const r = await run(["--config", "tiny", "--data", "synthetic", "--out", "/tmp/x", "--steps", "ten"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot use --steps "ten": expected a positive integer/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--resume/);
});

Deno.test("parseCliArgs names the bad or missing flag", () => {
  const bad = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseCliArgs(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  const ok = ["--config", "tiny", "--data", "synthetic", "--out", "o"];
  bad(["--data", "synthetic", "--out", "o"], /--config is required/);
  bad([...ok, "--bogus"], /Unknown option '--bogus'/);
  bad([...ok, "--lr", "fast"], /--lr "fast": expected a non-negative number/);
  bad([...ok, "--batch", "0"], /--batch "0": expected a positive integer/);
  bad([...ok, "--batch", "2.5"], /--batch "2.5": expected a positive integer/);
  bad([...ok, "--backend", "tpu"], /--backend "tpu": expected one of wasm, cpu, webgpu/);
  bad([...ok, "stray"], /argument "stray"/);
  const a = parseCliArgs([...ok, "--steps", "7", "--resume", "--lr", "2e-4"]) as CliArgs;
  assert.deepEqual([a.steps, a.resume, a.lr, a.batch, a.backend], [7, true, 2e-4, 8, "wasm"]);
  assert.equal(parseCliArgs(["-h"]), "help");
});
