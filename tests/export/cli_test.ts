import assert from "node:assert/strict";
import { parseExportArgs } from "../../export/cli.ts";
import { ExportSpecError } from "../../export/savedmodel/errors.ts";
import { exportFaults, writeCliFixtures } from "../cli_fault_table.ts";

const CLI = new URL("../../export/cli.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const dir = await Deno.makeTempDir();
writeCliFixtures(dir);
const base = ["--config", "tiny", "--out", `${dir}/out`];

// the export rows of the CLI fault table that are usage errors are refused by the parser itself
const USAGE_ERRORS = exportFaults(dir).filter((r) => r.code === 2).map((r) =>
  [r.what, [...r.argv], r.message] as const
);
for (const [what, args, message] of USAGE_ERRORS) {
  Deno.test(`parseExportArgs refuses ${what} with an ExportSpecError saying so`, () => {
    assert.throws(
      () => parseExportArgs(args),
      (e: unknown) => e instanceof ExportSpecError && message.test(e.message),
    );
  });
}

Deno.test("the export CLI prints a usage error as one line without a stack trace and exits 2", async () => {
  for (
    const args of [[...base, "--batch", "0"], [...base, "--checkpoint", `${dir}/none`], [...base, "--bogus"]]
  ) {
    const r = await run(args);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

Deno.test("--config accepts a JSON file, and --frames/--chunks change only the video length", () => {
  const file = `${dir}/tiny.json`;
  const tiny = parseExportArgs(base).config;
  Deno.writeTextFileSync(file, JSON.stringify(tiny));
  assert.deepEqual(parseExportArgs(["--config", file, "--out", `${dir}/o`]).config, tiny);
  const longer = parseExportArgs([...base, "--frames", "16", "--chunks", "4"]).config;
  assert.deepEqual([longer.video.frames, longer.video.chunks], [16, 4]);
});

Deno.test("the export CLI refuses a non-empty --out unless --overwrite: the user's files stay untouched, exit 1, one line naming the folder and --overwrite", async () => {
  const user = `${dir}/mine`, file = `${dir}/mine.txt`, exported = `${dir}/exported`;
  Deno.mkdirSync(`${user}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${user}/notes.txt`, "mine");
  Deno.writeTextFileSync(`${user}/sub/data.bin`, "also mine");
  Deno.writeTextFileSync(file, "a file");
  Deno.mkdirSync(exported);
  const snapshot = (d: string) =>
    [...Deno.readDirSync(d)].map((e) => [e.name, Deno.statSync(`${d}/${e.name}`).mtime?.getTime()]).sort();
  const before = snapshot(user);
  const args = (
    out: string,
    ...more: string[]
  ) => ["--config", "tiny", "--out", out, "--params", "inputs", ...more];
  // an empty folder is no clash; the export written there is refused like any other content
  assert.equal((await run(args(exported))).code, 0);
  for (
    const [out, why] of [[user, "the folder is not empty"], [file, "it is a file"], [
      exported,
      "the folder is not empty",
    ]]
  ) {
    const r = await run(args(out));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), `Cannot write export to ${out}: ${why} (pass --overwrite to replace it)`);
  }
  assert.deepEqual(snapshot(user), before);
  assert.equal(Deno.readTextFileSync(`${user}/notes.txt`), "mine");
  assert.equal(Deno.readTextFileSync(`${user}/sub/data.bin`), "also mine");
  assert.equal(Deno.readTextFileSync(file), "a file");
  assert.ok(![...Deno.readDirSync(dir)].some((e) => /\.(tmp|old)-/.test(e.name)), "a temp was left");
  const r = await run(args(user, "--overwrite"));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Deno.statSync(`${user}/saved_model.pb`).isFile);
  assert.equal([...Deno.readDirSync(user)].some((e) => e.name === "notes.txt"), false);
});
