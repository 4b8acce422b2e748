/**
 * data/'s writers on a full disk: a 1 MiB tmpfs is mounted (root only; the tests are skipped with
 * the reason printed where mounting is not allowed) and nearly filled, then each writer must fail
 * with its typed error, keep the previous complete state, and leave no partial or temporary file.
 */
import assert from "node:assert/strict";
import { Effect, Stream } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { listShards } from "../../data/shard_manifest.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { synthetic } from "../../data/synthetic.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { generationExample } from "./_writer_child.ts";

await setBackend("wasm");

const mountPoint = await Deno.makeTempDir({ prefix: "full_disk_test_" });
const run = (cmd: string, ...args: string[]) =>
  new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output().catch((e) => ({
    success: false,
    stdout: new Uint8Array(),
    stderr: new TextEncoder().encode(String(e)),
  }));
const mounted = await run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint);
const skip = mounted.success ? undefined : new TextDecoder().decode(mounted.stderr).trim() || "mount failed";
if (skip) console.log(`full_disk_test: skipped, cannot mount a tmpfs (${skip})`);
globalThis.addEventListener("unload", () => {
  if (!skip) new Deno.Command("umount", { args: [mountPoint] }).outputSync();
  Deno.removeSync(mountPoint, { recursive: true });
});

const ls = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
const PAGE = 4096;

/** Fills the tmpfs with one file until `leavePages` pages are free (tmpfs counts whole pages). */
async function fillLeaving(leavePages: number): Promise<void> {
  await Deno.remove(`${mountPoint}/filler`).catch(() => {});
  const df = new TextDecoder().decode((await run("df", "-B1", "--output=avail", mountPoint)).stdout);
  const avail = Number(df.trim().split("\n").pop());
  await Deno.writeFile(`${mountPoint}/filler`, new Uint8Array(Math.max(0, avail - leavePages * PAGE)));
}

Deno.test({
  name:
    "writeTFRecords() on a full disk fails with a ShardWriteError, keeps the last write readable, leaves no temp",
  ignore: skip !== undefined,
  fn: async () => {
    const dir = `${mountPoint}/shards`;
    const write = (g: number, n: number) =>
      writeTFRecords(Stream.fromIterable(Array.from({ length: n }, (_, k) => generationExample(g, k))), dir, {
        shardSize: 2,
      });
    await fillLeaving(100); // 400 KB: room for the first write (3 x 50 KB), not the second
    await Effect.runPromise(write(1, 3));
    const before = await ls(dir);
    const err = await Effect.runPromise(Effect.flip(write(2, 12)));
    assert.equal(err._tag, "ShardWriteError");
    assert.match(err.message, /No space left on device/);
    assert.deepEqual(await ls(dir), before, "the failed write left files or removed the last one's");
    assert.equal((await Effect.runPromise(listShards(dir))).examples, 3);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "synthetic() on a full disk fails with a RenderError and leaves no 0-byte, partial or orphaned file",
  ignore: skip !== undefined,
  fn: async () => {
    const reference = await Deno.makeTempDir({ prefix: "full_disk_reference_" });
    try {
      await Effect.runPromise(
        Stream.runDrain(synthetic(reference, { seed: 3, count: 1 })).pipe(Effect.provide(ffmpegLayer)),
      );
      const clipPages = Math.ceil((await Deno.stat(`${reference}/avqa_3_000000.mp4`)).size / PAGE);
      // room for the clip but not its truth file: the campaign's 0-byte JSON under its final name
      for (const leave of [clipPages, clipPages + 3]) {
        const dir = `${mountPoint}/clips`;
        await Deno.mkdir(dir);
        await fillLeaving(leave);
        const err = await Effect.runPromise(
          Effect.flip(
            Stream.runDrain(synthetic(dir, { seed: 3, count: 3 })).pipe(Effect.provide(ffmpegLayer)),
          ),
        );
        assert.equal(err._tag, "RenderError", String(err));
        assert.match(err.message, /No space left on device|exited with code/);
        const files = await ls(dir);
        for (const f of files) {
          assert.match(f, /^avqa_3_\d{6}\.(mp4|json)$/, `stray file ${f}`);
          const bytes = await Deno.readFile(`${dir}/${f}`);
          if (f.endsWith(".json")) {
            JSON.parse(new TextDecoder().decode(bytes));
            assert.ok(files.includes(f.replace(".json", ".mp4")), `${f} without its clip`);
          } else {
            assert.ok(files.includes(f.replace(".mp4", ".json")), `${f} without its truth file`);
          }
        }
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      await Deno.remove(reference, { recursive: true });
    }
  },
});
