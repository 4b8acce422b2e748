import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AtomicWriteError,
  cleanStaleTemps,
  openAtomic,
  parseTempName,
  tempPath,
  writeDirAtomic,
  writeFileAtomic,
} from "../../formats/atomic_write.ts";

const root = await Deno.makeTempDir({ prefix: "atomic_write_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const names = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

/** The pid of a process that has exited: what a SIGKILLed writer leaves in its temp names. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("writeFileAtomic() replaces a file and leaves no temporary name behind", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await writeFileAtomic(`${dir}/a.json`, "old");
  await writeFileAtomic(`${dir}/a.json`, new TextEncoder().encode("new"));
  assert.equal(await Deno.readTextFile(`${dir}/a.json`), "new");
  assert.deepEqual(await names(dir), ["a.json"]);
});

Deno.test("writeFileAtomic(overwrite: false) refuses an existing target and keeps it", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await writeFileAtomic(`${dir}/a`, "mine");
  const err = await writeFileAtomic(`${dir}/a`, "theirs", { overwrite: false }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof AtomicWriteError && err.exists, String(err));
  assert.match(err.message, /a: it already exists \(overwrite is false\)/);
  assert.equal(await Deno.readTextFile(`${dir}/a`), "mine");
  // the no-clobber commit itself refuses a target that appeared while the temp was written
  const pending = await openAtomic(`${dir}/b`, { overwrite: false });
  await pending.file.write(new Uint8Array([1]));
  await Deno.writeTextFile(`${dir}/b`, "raced");
  await assert.rejects(() => pending.commit(), (e) => e instanceof AtomicWriteError && e.exists);
  assert.equal(await Deno.readTextFile(`${dir}/b`), "raced");
  assert.deepEqual(await names(dir), ["a", "b"]);
});

Deno.test("a failed write is an AtomicWriteError naming the target, and removes its temp", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  const err = await writeFileAtomic(`${dir}/missing/a`, "x").then(() => undefined, (e) => e);
  assert.ok(err instanceof AtomicWriteError, String(err));
  assert.match(err.message, /missing\/a: /);
  await Deno.mkdir(`${dir}/target-is-a-folder/inside`, { recursive: true });
  await assert.rejects(() => writeFileAtomic(`${dir}/target-is-a-folder`, "x"), AtomicWriteError);
  assert.deepEqual(await names(dir), ["target-is-a-folder"]);
});

Deno.test("temporary names parse back to their target and pid", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9_.-]{1,20}$/), (name) => {
      const temp = tempPath(`/x/${name}`).split("/").pop()!;
      assert.deepEqual(parseTempName(temp), { target: name, kind: "tmp", pid: Deno.pid });
    }),
    { numRuns: 200, seed: 3 },
  );
  assert.equal(parseTempName("data-00000-of-00001.tfrecord"), undefined);
  assert.equal(parseTempName("a.tmp-12-xyz"), undefined);
});

Deno.test("cleanStaleTemps() removes temps of dead writers only, and only the names it is told it owns", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  const dead = await deadPid();
  for (
    const n of [`a.tmp-${dead}-0123abcd`, `b.tmp-${dead}-0123abcd`, `a.tmp-${Deno.pid}-0123abcd`, "c.tmp-x"]
  ) {
    await Deno.writeTextFile(`${dir}/${n}`, "partial");
  }
  await Deno.mkdir(`${dir}/export.tmp-${dead}-00ff00ff`);
  const removed = await cleanStaleTemps(dir, (target) => target !== "b");
  assert.deepEqual(removed.map((p) => p.split("/").pop()).sort(), [
    `a.tmp-${dead}-0123abcd`,
    `export.tmp-${dead}-00ff00ff`,
  ]);
  assert.deepEqual(await names(dir), [`a.tmp-${Deno.pid}-0123abcd`, `b.tmp-${dead}-0123abcd`, "c.tmp-x"]);
  assert.deepEqual(await cleanStaleTemps(`${dir}/absent`), []);
});

Deno.test("writeDirAtomic() swaps a whole folder, and a folder parked by a killed swap is put back", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await writeDirAtomic(`${dir}/out`, (t) => Deno.writeTextFile(`${t}/v`, "1"));
  await writeDirAtomic(`${dir}/out/`, (t) => Deno.writeTextFile(`${t}/v`, "2"));
  assert.equal(await Deno.readTextFile(`${dir}/out/v`), "2");
  assert.deepEqual(await names(dir), ["out"]);
  await assert.rejects(
    () => writeDirAtomic(`${dir}/out`, () => Promise.resolve(), { overwrite: false }),
    (e) => e instanceof AtomicWriteError && e.exists,
  );
  await assert.rejects(
    () => writeDirAtomic(`${dir}/out`, () => Promise.reject(new Error("disk on fire"))),
    /disk on fire/,
  );
  assert.deepEqual(await names(dir), ["out"]);
  // killed between "park the old folder" and "rename the new one in": the old one comes back
  const dead = await deadPid();
  await Deno.rename(`${dir}/out`, `${dir}/out.old-${dead}-aaaabbbb`);
  await Deno.mkdir(`${dir}/out.tmp-${dead}-ccccdddd`);
  await cleanStaleTemps(dir);
  assert.deepEqual(await names(dir), ["out"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/v`), "2");
});

Deno.test("writeDirAtomic(overwrite: false) fills an existing empty folder, and refuses one a file appeared in during the fill", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await Deno.mkdir(`${dir}/empty`);
  await writeDirAtomic(`${dir}/empty`, (t) => Deno.writeTextFile(`${t}/v`, "1"), { overwrite: false });
  assert.deepEqual(await names(`${dir}/empty`), ["v"]);
  // empty when checked, then a user's file lands in it: the rename refuses, the file stays
  await Deno.mkdir(`${dir}/raced`);
  await assert.rejects(
    () =>
      writeDirAtomic(`${dir}/raced`, async (t) => {
        await Deno.writeTextFile(`${dir}/raced/mine.txt`, "mine");
        await Deno.writeTextFile(`${t}/v`, "1");
      }, { overwrite: false }),
    (e) => e instanceof AtomicWriteError && e.exists,
  );
  assert.deepEqual(await names(`${dir}/raced`), ["mine.txt"]);
  assert.deepEqual(await names(dir), ["empty", "raced"], "a temp folder was left");
});

/** Kills a child rewriting `target` at seeded moments; after each kill `check` sees the target. */
async function killLoop(kind: "file" | "dir", target: string, runs: number, check: () => Promise<void>) {
  let seed = 2024;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const child = new URL("./_atomic_write_child.ts", import.meta.url).pathname;
  for (let run = 0; run < runs; run++) {
    const p = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, kind, target],
      stdout: "piped",
      stderr: "null",
    })
      .spawn();
    const reader = p.stdout.getReader();
    await reader.read(); // first commit of this run: the child is inside its loop
    await new Promise((r) => setTimeout(r, rand() * 60));
    p.kill("SIGKILL");
    await p.status;
    await reader.cancel().catch(() => {});
    await check();
  }
}

const whole = (bytes: Uint8Array) =>
  bytes.length > 256 * 1024 && bytes.every((b) => b === (bytes.length - 256 * 1024) % 256);

Deno.test("SIGKILLed at random moments, writeFileAtomic() always leaves a whole generation; the next run cleans the temps", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await killLoop("file", `${dir}/t.bin`, 8, async () => {
    assert.ok(
      whole(await Deno.readFile(`${dir}/t.bin`)),
      "the target holds a mix of two generations or a prefix",
    );
  });
  await cleanStaleTemps(dir);
  assert.deepEqual(await names(dir), ["t.bin"]);
});

Deno.test("SIGKILLed at random moments, writeDirAtomic() always leaves one whole folder; the next run restores or cleans", async () => {
  const dir = await Deno.makeTempDir({ dir: root });
  await killLoop("dir", `${dir}/out`, 8, async () => {
    await cleanStaleTemps(dir); // what the next run does first
    assert.deepEqual(await names(dir), ["out"]);
    const files = await Promise.all(["a", "b", "c"].map((n) => Deno.readFile(`${dir}/out/${n}`)));
    assert.ok(
      files.every(whole) && files.every((f) => f.length === files[0].length),
      "files of two generations",
    );
  });
});
