/**
 * Child of atomic_write_test.ts's SIGKILL loop: rewrites `<target>` (a file) or `<target>` (a folder of
 * three files) forever, generation after generation, each generation's bytes all equal to its number, and
 * prints the number of every generation it has committed. usage: _atomic_write_child.ts file|dir TARGET
 */
import { cleanStaleTemps, writeDirAtomic, writeFileAtomic } from "../../formats/atomic_write.ts";

const [kind, target] = Deno.args;
const dir = target.slice(0, target.lastIndexOf("/"));
await cleanStaleTemps(dir);
const out = new TextEncoder();
for (let g = 1;; g++) {
  const bytes = new Uint8Array(256 * 1024 + g).fill(g % 256);
  if (kind === "file") await writeFileAtomic(target, bytes);
  else {
    await writeDirAtomic(target, async (temp) => {
      for (const name of ["a", "b", "c"]) await Deno.writeFile(`${temp}/${name}`, bytes);
    });
  }
  await Deno.stdout.write(out.encode(`${g}\n`));
}
