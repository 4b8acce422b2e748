import assert from "node:assert/strict";
import { driverFaults, writeCliFixtures } from "../cli_fault_table.ts";

// Python-backed: one TensorFlow process runs every row (tests/export/tf_driver_flags.py).
const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const CHILD = new URL("./tf_driver_flags.py", import.meta.url).pathname;

const dir = await Deno.makeTempDir();
writeCliFixtures(dir);
const ROWS = driverFaults(dir);

Deno.test("the TF driver answers every row of the CLI fault table with its exit code and one line; refuses an --out of another config; cleans dead temps", async () => {
  const r = await new Deno.Command(PYTHON, {
    args: [CHILD, JSON.stringify(ROWS.map((r) => r.argv))],
    stdout: "piped",
    stderr: "piped",
    env: { TF_CPP_MIN_LOG_LEVEL: "3" },
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const { rows, clash, dead_temp_left } = JSON.parse(text.trim().split("\n").pop()!);
  for (const [i, { what, code, message }] of ROWS.entries()) {
    assert.equal(rows[i].code, code, `${what}: exit ${rows[i].code}: ${rows[i].stderr}`);
    assert.match(rows[i].stderr, message, what);
    assert.equal(rows[i].stderr.trim().split("\n").length, 1, `${what}: not one line: ${rows[i].stderr}`);
    assert.doesNotMatch(rows[i].stderr, /Traceback/, what);
  }
  assert.equal(clash[0], "ok", "the same config was refused");
  assert.match(clash[1], /holds a checkpoint of config 'tiny', not of 'other' \(pass --overwrite/);
  assert.equal(clash[2], "ok", "--overwrite was refused");
  assert.equal(dead_temp_left, false, "a dead writer's temp was left");
  await Deno.remove(dir, { recursive: true });
});
