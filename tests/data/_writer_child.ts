/**
 * Child of writer_kill_test.ts: runs one of data/'s writers into DIR until it is killed, printing a
 * line after each complete write. usage: _writer_child.ts shards|synthetic DIR
 * - shards: writeTFRecords of generation g = 1, 2, ...: 3 + g % 4 examples with ids "g-k", 2 per shard.
 * - synthetic: the 4 clips of seed 3, rendered again and again.
 */
import { Effect, Stream } from "effect";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { synthetic } from "../../data/synthetic.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import type { Example } from "../../data/types.ts";

const [mode, dir] = Deno.args;
const say = (s: string) => Deno.stdout.write(new TextEncoder().encode(`${s}\n`));

/** Example k of generation g: about 50 KB, so a write takes long enough to be killed inside it. */
export function generationExample(g: number, k: number): Example {
  const N = 4, H = 32, W = 32, F = 16, Mb = 8, L = 4;
  return {
    id: `${g}-${k}`,
    video: new Float32Array(N * H * W * 3).fill((g % 7) / 7),
    videoShape: [N, H, W, 3],
    audio: new Float32Array(F * Mb).fill(k),
    audioShape: [F, Mb],
    mediaMask: new Uint8Array(N).fill(1),
    hasAudio: true,
    fps: 25,
    text: new Int32Array(L).fill(g),
    textMask: new Uint8Array(L).fill(1),
    lossMask: new Uint8Array(L).fill(1),
  };
}
export const generationSize = (g: number) => 3 + (g % 4);

if (import.meta.main) {
  await say("ready");
  for (let g = 1;; g++) {
    if (mode === "shards") {
      const examples = Stream.fromIterable(
        Array.from({ length: generationSize(g) }, (_, k) => generationExample(g, k)),
      );
      await Effect.runPromise(writeTFRecords(examples, dir, { shardSize: 2 }));
    } else {
      await Effect.runPromise(
        Stream.runDrain(synthetic(dir, { seed: 3, count: 4 })).pipe(Effect.provide(ffmpegLayer)),
      );
    }
    await say(String(g));
  }
}
