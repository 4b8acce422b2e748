/**
 * Every row of tests/cli_fault_table.ts as a real process: the exit code, exactly one line on stderr
 * matching the row, and no stack trace or traceback. The TensorFlow driver takes seconds to import,
 * so only a few of its rows run here as processes (tests/export/tf_driver_flags_test.ts runs them all
 * in one); rows run three at a time.
 */
import assert from "node:assert/strict";
import {
  type CliFault,
  driverFaults,
  exportFaults,
  trainFaults,
  writeCliFixtures,
} from "./cli_fault_table.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;
const ROOT = here("../");
const COMMANDS = {
  train: [Deno.execPath(), "run", "-A", here("../train/cli.ts")],
  export: [Deno.execPath(), "run", "-A", here("../export/cli.ts")],
  driver: [here("../.venv/bin/python"), here("../export/tf/driver.py")],
} as const;
const DRIVER_PROCESS_ROWS = ["--lr -1", "--init-from a folder without weights", "an empty saved_model.pb"];

const dir = await Deno.makeTempDir({ prefix: "cli_fault_table_" });
writeCliFixtures(dir);
const rows = [
  ...trainFaults(dir),
  ...exportFaults(dir),
  ...driverFaults(dir).filter((r) => DRIVER_PROCESS_ROWS.includes(r.what)),
];

type Outcome = { code: number; stdout: string; stderr: string };
async function runRow(r: CliFault): Promise<Outcome> {
  const [cmd, ...pre] = COMMANDS[r.cli];
  const out = await new Deno.Command(cmd, {
    args: [...pre, ...r.argv],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" }, // no TF_CPP_MIN_LOG_LEVEL: the driver must keep TensorFlow's C++ notes off stderr itself
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Runs `jobs` at most `n` at a time, in order of start. */
function limited<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  return jobs.map((job) =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        running++;
        job().then(resolve, reject).finally(() => {
          running--;
          queue.shift()?.();
        });
      };
      running < n ? start() : queue.push(start);
    })
  );
}
const outcomes = limited(3, rows.map((r) => () => runRow(r)));

for (const [i, r] of rows.entries()) {
  Deno.test({
    name: `${r.cli} CLI, ${r.what}: exit ${r.code} and one line on stderr, no stack trace`,
    sanitizeOps: false, // the processes are started ahead, three at a time, not inside this test
    sanitizeResources: false,
    fn: async () => {
      const o = await outcomes[i];
      const why = `${r.cli} ${r.argv.join(" ")}\n--- stderr:\n${o.stderr}`;
      assert.equal(o.code, r.code, why);
      assert.doesNotMatch(o.stderr, /^\s+at |Traceback|Uncaught/m, why);
      const lines = o.stderr.trim().split("\n");
      assert.equal(lines.length, 1, why);
      assert.match(lines[0], r.message, why);
    },
  });
}

Deno.test({
  name: "after the whole table, the user's folder the export refused is untouched and nothing left a temp",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await Promise.allSettled(outcomes);
    assert.deepEqual([...Deno.readDirSync(`${dir}/user`)].map((e) => e.name), ["notes.txt"]);
    assert.equal(Deno.readTextFileSync(`${dir}/user/notes.txt`), "mine");
    assert.ok(![...Deno.readDirSync(dir)].some((e) => /\.(tmp|old)-\d+-/.test(e.name)));
    await Deno.remove(dir, { recursive: true });
  },
});
