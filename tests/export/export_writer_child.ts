/**
 * Child of tests/export/export_writer_test.ts: exports a large fake SavedModel folder to Deno.args[0]
 * through writeAtomically (version Deno.args[1]), so the test can SIGKILL it mid-write.
 */
import { Effect } from "effect";
import { writeAtomically } from "../../export/savedmodel/export.ts";

const [dir, version] = Deno.args;
console.log("writing");
await Effect.runPromise(writeAtomically(dir, true, async (tmp) => {
  await Deno.mkdir(`${tmp}/variables`);
  const chunk = new Uint8Array(1 << 20).fill(Number(version) % 256);
  const f = await Deno.open(`${tmp}/variables/variables.data-00000-of-00001`, { write: true, create: true });
  for (let i = 0; i < 48; i++) await f.write(chunk);
  f.close();
  await Deno.writeTextFile(`${tmp}/saved_model.pb`, version);
}));
console.log("written");
