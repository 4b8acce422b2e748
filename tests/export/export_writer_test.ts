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
  const failed = await Effect.runPromiseExit(writeAtomically(`${root}/out`, true, () => Promise.reject(new Error("disk full"))));
  assert.ok(Exit.isFailure(failed));
  assert.match(String(failed.cause), /disk full/);
  assert.deepEqual(names(root), ["out"], "a temp folder was left");
  assert.deepEqual(names(`${root}/out`), ["mine.txt"]);
  await Effect.runPromise(writeAtomically(`${root}/out`, true, fill("v2")));
  assert.deepEqual(names(`${root}/out`), ["saved_model.pb"]);
  await Deno.remove(root, { recursive: true });
});
