import { Effect, Stream } from "effect";
import { setBackend } from "./transforms/backend.ts";
import { keysFor, PRNGKey } from "./transforms/random.ts";
import { init, tiny, validateConfig } from "./model/mod.ts";
import { train } from "./train/loop.ts";
import { syntheticBatches } from "./train/sources.ts";
import { writeTFRecords } from "./data/tfrecords.ts";
import { exportSavedModel } from "./export/savedmodel/export.ts";
import { mirasolSignatures } from "./export/savedmodel/mirasol.ts";
import type { Batch, Example } from "./data/types.ts";
await setBackend("wasm");
const config = validateConfig({ ...tiny, name: "tiny-drop", dropout: 0.1 });
const B = 2, L = 8, STEPS = 20, SEED = 7, LR = 3e-3;
const source = syntheticBatches(config, { batchSize: B, seed: 3, textLength: L });
const batches = Array.from({ length: STEPS }, (_, s) => source(s));
const rows = (b: Batch): Example[] => Array.from({ length: B }, (_, i) => {
  const N = config.video.frames, H = config.video.height, W = config.video.width, F = N * 4, Mb = config.audio.melBins;
  const v = N * H * W * 3, a = F * Mb;
  return { id: b.ids[i], video: b.video.slice(i * v, (i + 1) * v), videoShape: [N, H, W, 3], audio: b.audio.slice(i * a, (i + 1) * a), audioShape: [F, Mb],
    mediaMask: b.mediaMask.slice(i * N, (i + 1) * N), hasAudio: true, fps: 25, text: b.text.slice(i * L, (i + 1) * L), textMask: b.textMask.slice(i * L, (i + 1) * L), lossMask: b.lossMask.slice(i * L, (i + 1) * L) };
});
const dir = "/tmp/par";
await Deno.remove(dir, { recursive: true }).catch(() => {});
await Effect.runPromise(writeTFRecords(Stream.fromIterable(batches.flatMap(rows)), `${dir}/shards`, { shardSize: 1000 }));
const params = init(keysFor(PRNGKey(SEED), ["init", "train"]).init, config);
await Effect.runPromise(exportSavedModel({ params, signatures: mirasolSignatures(config, { batch: B, textLength: L }), config }, `${dir}/sm`));
const r = await train({ config, data: (s) => batches[s], steps: STEPS, batchSize: B, lr: LR, seed: SEED, out: `${dir}/ts`, logEvery: 1, checkpointEvery: 100, handleSigint: false, write: () => {} });
console.log(r.stopped, r.step);
