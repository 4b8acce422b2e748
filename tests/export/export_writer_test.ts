import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { writeAtomically } from "../../export/savedmodel/export.ts";

/** The pid of a process that has exited (a killed export). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const fill = (text: string) => async (tmp: string) => await Deno.writeTextFile(`${tmp}/saved_model.pb`, text);

Deno.test("an export writes through a temp folder beside the target and removes a killed export's temp folder", async () => {
  const root = await Deno.makeTempDir();
  const dead = `out.tmp-${await deadPid()}-0badf00d`, live = `out.tmp-${Deno.pid}-0badf00d`;
  const other = `notes.tmp-${await deadPid()}-0badf00d`;
  for (const d of [dead, live, other]) Deno.mkdirSync(`${root}/${d}/variables`, { recursive: true });
  await Effect.runPromise(writeAtomically(`${root}/out`, false, fill("v1")));
  assert.deepEqual(names(root), [live, other, "out"].sort(), "the dead export's temp folder is still there");
  assert.equal(Deno.readTextFileSync(`${root}/out/saved_model.pb`), "v1");
  await Deno.remove(root, { recursive: true });
});

Deno.test("an export refuses an existing folder unless overwrite, and a failed export leaves the old one whole", async () => {
  const root = await Deno.makeTempDir();
  Deno.mkdirSync(`${root}/out`);
  Deno.writeTextFileSync(`${root}/out/mine.txt`, "not an export");
  const refused = await Effect.runPromiseExit(writeAtomically(`${root}/out`, false, fill("v1")));
  assert.ok(Exit.isFailure(refused));
  assert.match(String(refused.cause), /already exists \(pass overwrite: true/);
  const failed = await Effect.runPromiseExit(
    writeAtomically(`${root}/out`, true, () => Promise.reject(new Error("disk full"))),
  );
  assert.ok(Exit.isFailure(failed));
  assert.match(String(failed.cause), /disk full/);
  assert.deepEqual(names(root), ["out"], "a temp folder was left");
  assert.deepEqual(names(`${root}/out`), ["mine.txt"]);
  await Effect.runPromise(writeAtomically(`${root}/out`, true, fill("v2")));
  assert.deepEqual(names(`${root}/out`), ["saved_model.pb"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("an export SIGKILLed at random moments leaves the last complete export, and the next run leaves no temp", async () => {
  const root = await Deno.makeTempDir(), out = `${root}/out`;
  const CHILD = new URL("./export_writer_child.ts", import.meta.url).pathname;
  const run = (version: number) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD, out, String(version)],
      stdout: "piped",
      stderr: "null",
    }).spawn();
  await run(0).status;
  let rng = 16; // fixed seed: delays of 0-120 ms
  const next = () => (rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const complete = () => {
    const version = Deno.readTextFileSync(`${out}/saved_model.pb`);
    const data = Deno.readFileSync(`${out}/variables/variables.data-00000-of-00001`);
    assert.equal(data.length, 48 << 20, "a partial export under the final name");
    assert.ok(data.every((b) => b === Number(version) % 256), "weights of another version");
    return Number(version);
  };
  let last = 0, killed = 0;
  for (let v = 1; v <= 6; v++) {
    const child = run(v);
    const reader = child.stdout.getReader();
    await reader.read(); // "writing"
    await new Promise((r) => setTimeout(r, next() * 120));
    try {
      child.kill("SIGKILL");
    } catch {
      // it finished first: a complete export, which is fine too
    }
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    if (status.signal === "SIGKILL") killed++;
    const now = complete();
    assert.ok(now === last || now === v, `export ${now} after committing ${last} and killing ${v}`);
    last = now;
  }
  assert.ok(killed >= 3, `only ${killed} of 6 writers were killed mid-run`);
  await run(7).status;
  assert.equal(complete(), 7);
  assert.deepEqual(names(root), ["out"], "temp folders were left after the next run");
  await Deno.remove(root, { recursive: true });
});
