import assert from "node:assert/strict";

// Python-backed: one TensorFlow process runs every row (tests/export/tf_driver_flags.py).
const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const CHILD = new URL("./tf_driver_flags.py", import.meta.url).pathname;

const dir = await Deno.makeTempDir();
const sm = `${dir}/sm`;
Deno.mkdirSync(sm);
Deno.writeTextFileSync(`${sm}/saved_model.pb`, ""); // only its presence is checked before TF loads it
Deno.mkdirSync(`${dir}/data`);
const ok = ["--savedmodel", sm, "--data", `${dir}/data`, "--out", `${dir}/out`, "--steps", "2"];

const ROWS: [string, string[], RegExp][] = [
  ["--lr -1", [...ok, "--lr", "-1"], /--lr must be a positive number, got -1/],
  ["--lr nan", [...ok, "--lr", "nan"], /--lr must be a positive number, got nan/],
  ["--steps 0", [...ok.slice(0, -1), "0"], /--steps must be >= 1, got 0/],
  ["--steps -3", [...ok.slice(0, -1), "-3"], /--steps must be >= 1, got -3/],
  ["--batch 0", [...ok, "--batch", "0"], /--batch must be >= 1, got 0/],
  ["--weight-decay -1", [...ok, "--weight-decay", "-1"], /--weight-decay must be a non-negative number/],
  ["--beta1 1", [...ok, "--beta1", "1"], /--beta1 must be in \[0, 1\)/],
  ["--eps 0", [...ok, "--eps", "0"], /--eps must be a positive number/],
  ["--keep-checkpoints 0", [...ok, "--keep-checkpoints", "0"], /--keep-checkpoints must be >= 1/],
  [
    "a missing data folder",
    [...ok.slice(0, 2), "--data", `${dir}/nope`, ...ok.slice(4)],
    /--data .*nope does not exist/,
  ],
  ["a folder without saved_model.pb", ["--savedmodel", dir, ...ok.slice(2)], /is not a SavedModel folder/],
  ["a missing --config file", [...ok, "--config", `${dir}/none.json`], /--config .* is not a file/],
  ["an unknown flag", [...ok, "--bogus"], /unrecognized arguments: --bogus/],
  ["a missing required flag", ok.slice(2), /the following arguments are required: --savedmodel/],
];

Deno.test("the TF driver refuses every bad flag with one line and exit 2; refuses an --out of another config; cleans dead temps", async () => {
  const r = await new Deno.Command(PYTHON, {
    args: [CHILD, JSON.stringify(ROWS.map(([, argv]) => argv))],
    stdout: "piped",
    stderr: "piped",
    env: { TF_CPP_MIN_LOG_LEVEL: "3" },
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const { rows, clash, dead_temp_left } = JSON.parse(text.trim().split("\n").pop()!);
  for (const [i, [what, , message]] of ROWS.entries()) {
    assert.equal(rows[i].code, 2, `${what}: exit ${rows[i].code}: ${rows[i].stderr}`);
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
