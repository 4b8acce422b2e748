import assert from "node:assert/strict";
import { readMetrics } from "../../train/log.ts";

const CLI = new URL("../../train/cli.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("a second Ctrl-C during a training step ends deno task train at once with code 130", async () => {
  const out = await Deno.makeTempDir();
  // batch 256 makes each tiny step long enough (seconds) that both signals land inside one step
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "--config",
      "tiny",
      "--data",
      "synthetic",
      "--steps",
      "1000",
      "--batch",
      "256",
      "--out",
      out,
      "--log-every",
      "1",
      "--checkpoint-every",
      "1000",
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const metrics = `${out}/metrics.jsonl`;
  for (let i = 0; i < 1200 && (await readMetrics(metrics).catch(() => [])).length < 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows = (await readMetrics(metrics)).length;
  assert.ok(rows >= 1, "training never logged a step");
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGINT");
  const status = await child.status;
  assert.equal(status.code, 130);
  // at once: the step that was running when the signals came never finished
  assert.equal((await readMetrics(metrics)).length, rows, "a step finished after the second Ctrl-C");
  await Deno.remove(out, { recursive: true });
});
