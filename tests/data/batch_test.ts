import assert from "node:assert/strict";
import fc from "fast-check";
import { Data, Effect, Stream } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { batches, type BatchReport, shuffled } from "../../data/batch.ts";
import type { Batch, Example } from "../../data/types.ts";

await setBackend("wasm");

class FakeDecodeError extends Data.TaggedError("FakeDecodeError")<{ readonly id: string }> {}

type Item = { readonly id: number; readonly frames: number; readonly fails?: boolean };
const H = 2, W = 2, R = 2, MB = 3;

/** A deterministic example whose every value encodes its item id, so batches can be checked exactly. */
function fakeExample(item: Item, L = 5): Example {
  const n = item.frames;
  return {
    id: `clip${item.id}`,
    video: Float32Array.from({ length: n * H * W * 3 }, (_, i) => item.id + i / 1000),
    videoShape: [n, H, W, 3],
    audio: Float32Array.from({ length: n * R * MB }, (_, i) => -item.id - i / 1000),
    audioShape: [n * R, MB],
    mediaMask: new Uint8Array(n).fill(1),
    hasAudio: true,
    fps: 25,
    text: Int32Array.from({ length: L }, (_, i) => item.id * 10 + i),
    textMask: new Uint8Array(L).fill(1),
    lossMask: Uint8Array.from({ length: L }, (_, i) => i % 2),
  };
}

/** Yields to the scheduler a pseudo-random number of times, so concurrent decodes finish out of order. */
const fakeDecode = (item: Item) =>
  Effect.gen(function* () {
    for (let k = 0; k < (item.id * 7919) % 6; k++) yield* Effect.yieldNow;
    if (item.fails) return yield* new FakeDecodeError({ id: `clip${item.id}` });
    return fakeExample(item);
  });

const items = (n: number, frames = 3): Item[] => Array.from({ length: n }, (_, id) => ({ id, frames }));
const collect = <E>(s: Stream.Stream<Batch, E>) => Effect.runPromise(Stream.runCollect(s));

Deno.test("batches() gives the same batches for a seed at concurrency 1 and 4, a permutation of the input", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat(),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 40 }),
      async (seed, n, batchSize, shuffleBuffer) => {
        const run = (concurrency: number) =>
          collect(
            batches(Stream.fromIterable(items(n)), fakeDecode, {
              batchSize,
              seed,
              shuffleBuffer,
              concurrency,
            }),
          );
        const [one, four] = await Promise.all([run(1), run(4)]);
        assert.deepEqual(four, one);
        const ids = one.flatMap((b) => b.ids);
        assert.deepEqual([...ids].sort(), items(n).map((i) => `clip${i.id}`).sort());
        assert.deepEqual(
          one.map((b) => b.ids.length),
          Array.from({ length: Math.ceil(n / batchSize) }, (_, k) => Math.min(batchSize, n - k * batchSize)),
        );
      },
    ),
    { numRuns: 100, seed: 42 },
  );
});

Deno.test("batches() without a seed keeps input order; different seeds give different orders", async () => {
  const order = async (seed?: number) =>
    (await collect(
      batches(Stream.fromIterable(items(40)), fakeDecode, { batchSize: 8, seed, concurrency: 4 }),
    )).flatMap((b) => b.ids);
  assert.deepEqual(await order(), items(40).map((i) => `clip${i.id}`));
  const [a, b] = [await order(1), await order(2)];
  assert.notDeepEqual(a, items(40).map((i) => `clip${i.id}`));
  assert.notDeepEqual(a, b);
});

Deno.test("shuffled() with a buffer as large as the stream can move the last item first", async () => {
  const firsts = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const out = await Effect.runPromise(Stream.runCollect(shuffled(Stream.range(0, 9), seed, 10)));
    assert.deepEqual([...out].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    firsts.add(out[0]);
  }
  assert.equal(firsts.size, 10); // every position reachable: a full shuffle, not a local jitter
});

Deno.test("batches() pads short clips and text to fixed [B, N, H, W, 3], [B, F, Mb], [B, L] exactly as a naive copy", async () => {
  const mixed: Item[] = [{ id: 1, frames: 2 }, { id: 2, frames: 4 }, { id: 3, frames: 5 }];
  const [batch] = await collect(
    batches(Stream.fromIterable(mixed), (it) => Effect.succeed(fakeExample(it, it.id + 2)), {
      batchSize: 4,
      frames: 4,
      textLength: 4,
      padId: 99,
      remainder: "pad",
    }),
  );
  const N = 4, F = N * R, L = 4;
  assert.deepEqual(batch.videoShape, [4, N, H, W, 3]);
  assert.deepEqual(batch.audioShape, [4, F, MB]);
  assert.deepEqual(batch.textShape, [4, L]);
  assert.deepEqual(batch.ids, ["clip1", "clip2", "clip3", ""]);
  const frame = H * W * 3;
  mixed.forEach((it, b) => {
    const e = fakeExample(it, it.id + 2), n = Math.min(it.frames, N);
    for (let i = 0; i < N * frame; i++) {
      assert.equal(batch.video[b * N * frame + i], i < n * frame ? e.video[i] : 0);
    }
    for (let i = 0; i < F * MB; i++) {
      assert.equal(batch.audio[b * F * MB + i], i < n * R * MB ? e.audio[i] : 0);
    }
    for (let t = 0; t < N; t++) assert.equal(batch.mediaMask[b * N + t], t < it.frames ? 1 : 0);
    for (let t = 0; t < L; t++) {
      assert.equal(batch.text[b * L + t], t < e.text.length ? e.text[t] : 99);
      assert.equal(batch.textMask[b * L + t], t < e.text.length ? 1 : 0);
      assert.equal(batch.lossMask[b * L + t], t < e.text.length ? e.lossMask[t] : 0);
    }
  });
  // the padding row is empty everywhere
  assert.ok(
    batch.mediaMask.subarray(3 * N).every((m) => m === 0) &&
      batch.textMask.subarray(3 * L).every((m) => m === 0),
  );
});

Deno.test("batches() remainder: 'drop' drops the short last batch, 'keep' keeps it smaller", async () => {
  const sizes = async (remainder: "drop" | "keep") =>
    (await collect(batches(Stream.fromIterable(items(10)), fakeDecode, { batchSize: 4, remainder }))).map((
      b,
    ) => b.ids.length);
  assert.deepEqual(await sizes("drop"), [4, 4]);
  assert.deepEqual(await sizes("keep"), [4, 4, 2]);
});

Deno.test("batches() with onError 'skip' drops failing items and reports each with its input position", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 25 }), fc.nat(), async (fails, seed) => {
      const input = fails.map((f, id) => ({ id, frames: 3, fails: f }));
      let report: BatchReport<FakeDecodeError> | undefined;
      const seen: boolean[] = [];
      const out = await collect(batches(Stream.fromIterable(input), fakeDecode, {
        batchSize: 3,
        seed,
        concurrency: 4,
        onError: "skip",
        onItem: (e) => seen.push(e.ok),
        onReport: (r) => Effect.sync(() => void (report = r)),
      }));
      const expectedFailed = input.filter((i) => i.fails).map((i) => i.id);
      assert.deepEqual(
        out.flatMap((b) => b.ids).sort(),
        input.filter((i) => !i.fails).map((i) => `clip${i.id}`).sort(),
      );
      assert.equal(report!.decoded, input.length - expectedFailed.length);
      assert.deepEqual(report!.skipped.map((s) => s.index).sort((a, b) => a - b), expectedFailed);
      assert.ok(
        report!.skipped.every((s) => s.error._tag === "FakeDecodeError" && s.error.id === `clip${s.index}`),
      );
      assert.equal(seen.filter((ok) => !ok).length, expectedFailed.length);
    }),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("batches() with onError 'fail' fails the stream with the decoder's typed error", async () => {
  const input = items(12).map((it) => (it.id === 7 ? { ...it, fails: true } : it));
  const error = await Effect.runPromise(Effect.flip(Stream.runCollect(
    batches(Stream.fromIterable(input), fakeDecode, { batchSize: 4, concurrency: 4, onError: "fail" }),
  )));
  assert.ok(error instanceof FakeDecodeError);
  assert.equal(error.id, "clip7");
});

Deno.test("batches() fails with BatchShapeError naming the example whose frame size differs", async () => {
  const decode = (it: Item) =>
    Effect.succeed(it.id === 2 ? { ...fakeExample(it), videoShape: [3, 4, 1, 3] as const } : fakeExample(it));
  const error = await Effect.runPromise(
    Effect.flip(Stream.runCollect(batches(Stream.fromIterable(items(4)), decode, { batchSize: 4 }))),
  );
  assert.equal(error._tag, "BatchShapeError");
  assert.match(error.message, /example "clip2" into a batch: frame size must be 2x2, got 4x1/);
});

Deno.test("batches() keeps at most `concurrency` decodes in flight and reads ahead only a bounded amount", async () => {
  let inFlight = 0, maxInFlight = 0, started = 0;
  const decode = (it: Item) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        started++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
      }),
      () => fakeDecode(it),
      () => Effect.sync(() => void inFlight--),
    );
  const infinite = Stream.iterate(0, (i) => i + 1).pipe(Stream.map((id) => ({ id, frames: 2 })));
  const out = await collect(
    batches(infinite, decode, { batchSize: 4, concurrency: 3, prefetch: 4 }).pipe(Stream.take(2)),
  );
  assert.equal(out.length, 2);
  assert.ok(maxInFlight <= 3 && maxInFlight >= 2, `max in flight ${maxInFlight}`);
  assert.ok(started <= 8 + 4 + 3 + 4, `decoded ${started} items to deliver 8`);
});

import { formatProgress, progress } from "../../data/progress.ts";

Deno.test("progress() fed by batches() counts items and errors and prints periodic plain lines off a TTY", async () => {
  let clock = 0;
  const lines: string[] = [];
  const p = progress({
    label: "decode",
    total: 10,
    isTty: false,
    intervalMs: 1000,
    now: () => clock,
    write: (t) => lines.push(t),
  });
  const input = items(10).map((it) => ({ ...it, fails: it.id % 4 === 3 }));
  const slowDecode = (it: Item) =>
    Effect.sync(() => void (clock += 250)).pipe(Effect.andThen(fakeDecode(it)));
  await collect(batches(Stream.fromIterable(input), slowDecode, {
    batchSize: 2,
    onError: "skip",
    onItem: p.tick,
    onReport: () => Effect.void,
  }));
  p.finish();
  assert.deepEqual(p.snapshot(), { done: 10, errors: 2, elapsedMs: 2500, itemsPerSecond: 4 });
  // one line per second of decoding (at items 4 and 8), then the final line
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  assert.equal(lines[2], "decode: 10/10 items (100.0%), 4.0 items/s, 2 errors, 3s elapsed\n");
  assert.equal(lines[0], "decode: 4/10 items (40.0%), 4.0 items/s, 1 error, 1s elapsed, ETA 2s\n"); // item 3 failed
});

Deno.test("progress() on a TTY redraws one line in place and ends it on finish()", () => {
  let clock = 0;
  const out: string[] = [];
  const p = progress({ label: "clips", isTty: true, now: () => clock, write: (t) => out.push(t) });
  for (let i = 0; i < 30; i++) {
    clock += 20;
    p.tick({ ok: i !== 5 });
  }
  p.finish();
  assert.ok(out.length >= 5 && out.length <= 7, `${out.length} redraws for 600 ms at <= 10/s`);
  assert.ok(out.every((t) => t.startsWith("\r\x1b[2K")));
  assert.equal(out.at(-1), "\r\x1b[2Kclips: 30 items, 50.0 items/s, 1 error, 1s elapsed\n");
  assert.equal(
    formatProgress("x", { done: 5, errors: 0, elapsedMs: 125_000, itemsPerSecond: 0.04 }, 100),
    "x: 5/100 items (5.0%), 0.0 items/s, 0 errors, 2m05s elapsed, ETA 39m35s",
  );
});
