import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import { Effect, Fiber, Stream } from "effect";
import { decodeClip, decodeFrames } from "../../data/decode.ts";
import { ffmpegLayer, fixedRecords, processStdout } from "../../data/ffmpeg.ts";

// A 20 s clip under a name no other process has, so `pgrep -f` finds exactly our decoders.
const dir = await Deno.makeTempDir({ prefix: "ffmpeg_lifecycle_" });
const unique = `lifecycle_${crypto.randomUUID().slice(0, 8)}`;
const clip = `${dir}/${unique}.mkv`;
const made = new Deno.Command("ffmpeg", {
  args: [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=s=160x120:r=25:d=20",
    "-f",
    "lavfi",
    "-i",
    "sine=f=440:d=20",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "flac",
    clip,
  ],
}).outputSync();
assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));

/** pids of live processes whose command line mentions `name` (pgrep ignores zombies' empty cmdlines). */
function processesNaming(name: string): number[] {
  const out = new Deno.Command("pgrep", { args: ["-f", name] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).map(Number);
}

/** Waits until a process matching each pattern (a regex over the command line) is alive at once. */
async function waitForDecoders(...patterns: string[]): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (patterns.every((p) => processesNaming(p).length > 0)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never saw ${patterns.join(" and ")} running`);
}

const frames = (o: { frames?: number } = {}) => decodeFrames(clip, { height: 32, width: 32, ...o });

Deno.test("decodeFrames(): a consumer that takes 1 of 500 frames leaves no ffmpeg process alive", async () => {
  const got = await Effect.runPromise(
    frames().pipe(Stream.take(1), Stream.runCollect, Effect.provide(ffmpegLayer)),
  );
  assert.equal(got.length, 1);
  assert.equal(got[0].length, 32 * 32 * 3);
  assert.deepEqual(processesNaming(unique), []);
});

Deno.test("decodeFrames(): interrupting the consuming fiber mid-stream kills ffmpeg", async () => {
  let seen = 0;
  // A slow consumer: ffmpeg fills the pipe and blocks, alive, until the fiber is interrupted.
  const slow = frames().pipe(
    Stream.tap(() => Effect.andThen(Effect.sync(() => seen++), Effect.sleep("20 millis"))),
    Stream.runDrain,
    Effect.provide(ffmpegLayer),
  );
  const fiber = Effect.runFork(slow);
  await waitForDecoders(`${unique}.* rawvideo`);
  while (seen < 3) await new Promise((r) => setTimeout(r, 10));
  await Effect.runPromise(Fiber.interrupt(fiber));
  assert.ok(seen < 500, "the stream ran to its end instead of being interrupted");
  assert.deepEqual(processesNaming(unique), []);
});

Deno.test("decodeClip(): interrupting a decode kills both its video and audio decoders", async () => {
  const fiber = Effect.runFork(
    decodeClip(clip, { frames: 500, height: 32, width: 32 }).pipe(Effect.provide(ffmpegLayer)),
  );
  await waitForDecoders(`${unique}.* rawvideo`, `${unique}.* f32le`);
  await Effect.runPromise(Fiber.interrupt(fiber));
  assert.deepEqual(processesNaming(unique), []);
});

Deno.test("processStdout(): a failing ffmpeg is a DecodeError that names the file and quotes ffmpeg", async () => {
  const bad = `${dir}/${unique}_absent.mkv`;
  const e = await Effect.runPromise(
    processStdout("ffmpeg", ["-v", "error", "-i", bad, "-f", "null", "-"], bad).pipe(
      Stream.runDrain,
      Effect.flip,
      Effect.provide(ffmpegLayer),
    ),
  );
  assert.equal(e._tag, "DecodeError");
  assert.match(
    e.message,
    new RegExp(`Cannot decode ${bad}: ffmpeg exited with code 1: .*No such file or directory`),
  );
});

Deno.test("fixedRecords() regroups arbitrary pipe chunks into whole frames and drops a partial tail", async () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
  const cuts = [0, 1, 7, 8, 300, 301, 640, 999, 1000];
  const chunks = cuts.slice(1).map((c, i) => bytes.subarray(cuts[i], c)).filter((c) => c.length > 0);
  const records = await Effect.runPromise(
    fixedRecords(Stream.fromIterable(chunks), 96).pipe(Stream.runCollect),
  );
  assert.equal(records.length, Math.floor(1000 / 96));
  records.forEach((r, k) => assert.deepEqual(r, bytes.subarray(k * 96, (k + 1) * 96)));
});

Deno.test({
  name: "ffmpeg_lifecycle fixtures are removed",
  fn: () => Deno.remove(dir, { recursive: true }),
});
