/**
 * SIGKILL loops for data/'s writers: a child process runs a writer in a loop and is killed at seeded
 * random moments; after every kill the folder must hold the last complete write (or nothing yet), and
 * the next run must leave no temporary file behind.
 */
import assert from "node:assert/strict";
import { Effect, Stream } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { listShards } from "../../data/shard_manifest.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { synthetic } from "../../data/synthetic.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { decodeExample, decodeRecords } from "../../formats/tfrecord.ts";
import { generationExample, generationSize } from "./_writer_child.ts";

await setBackend("wasm");

const root = await Deno.makeTempDir({ prefix: "writer_kill_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const ls = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
const isTemp = (f: string) => /\.(tmp|old)-\d+-[0-9a-f]{8}$/.test(f);

/** Starts the child, waits until it is ready, kills it `delayMs` later; returns the lines it printed. */
async function runAndKill(mode: string, dir: string, delayMs: number): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_writer_child.ts", import.meta.url).pathname, mode, dir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoderStream();
    for await (const chunk of child.stdout.pipeThrough(decoder)) {
      lines.push(...chunk.split("\n").filter((l) => l));
    }
  })();
  while (!lines.includes("ready")) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill("SIGKILL");
  await child.status;
  await reading.catch(() => {});
  return lines;
}

/** Waits until no process (an ffmpeg orphaned by the kill) still names `dir` on its command line. */
async function orphansGone(dir: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    let alive = false;
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(dir)) alive = true;
      } catch { /* exited while we looked */ }
    }
    if (!alive) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`a process writing into ${dir} outlived the kill by 5 s`);
}

function seeded(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

Deno.test("writeTFRecords() SIGKILLed at 10 random moments: readers always get one whole write; the next write leaves no temp", async () => {
  const dir = `${root}/shards`, rand = seeded(16);
  let killedInside = 0;
  for (let run = 0; run < 10; run++) {
    await runAndKill("shards", dir, 50 + rand() * 400);
    if ((await ls(dir)).some(isTemp)) killedInside++;
    const listing = await Effect.runPromiseExit(listShards(dir));
    if (listing._tag === "Failure") {
      assert.match(
        String(listing.cause),
        /no manifest data\.shards\.json/,
        "only an empty folder may fail to list",
      );
      continue;
    }
    const ids = (await Promise.all(listing.value.shards.map((f) => Deno.readFile(f)))).flatMap(decodeRecords)
      .map((r) => new TextDecoder().decode((decodeExample(r).id.value as Uint8Array[])[0]));
    const g = Number(ids[0].split("-")[0]);
    assert.deepEqual(
      ids,
      Array.from({ length: generationSize(g) }, (_, k) => `${g}-${k}`),
      `run ${run}: a mixed write`,
    );
    assert.equal(listing.value.examples, ids.length);
  }
  console.log(`killed inside a write (temps left) in ${killedInside} of 10 runs`);
  const next = Stream.fromIterable([generationExample(99, 0)]);
  await Effect.runPromise(writeTFRecords(next, dir, { shardSize: 2 }));
  const left = await ls(dir);
  assert.equal(left.length, 2, `stale files after the next write: ${left}`);
});

Deno.test("synthetic() SIGKILLed at 8 random moments: every clip and truth file present is whole; the next run leaves no temp", async () => {
  const reference = `${root}/reference`, dir = `${root}/synthetic`, rand = seeded(61);
  await Effect.runPromise(
    Stream.runDrain(synthetic(reference, { seed: 3, count: 4 })).pipe(Effect.provide(ffmpegLayer)),
  );
  const check = async () => {
    for (const f of await ls(dir)) {
      if (isTemp(f)) continue;
      const bytes = await Deno.readFile(`${dir}/${f}`);
      if (f.endsWith(".mp4")) {
        assert.deepEqual(bytes, await Deno.readFile(`${reference}/${f}`), `${f} is not the whole clip`);
      } else {
        const truth = JSON.parse(new TextDecoder().decode(bytes)); // a partial JSON throws here
        const want = JSON.parse(await Deno.readTextFile(`${reference}/${f}`));
        assert.deepEqual(truth.scene, want.scene);
        assert.ok((await ls(dir)).includes(f.replace(".json", ".mp4")), `${f} without its clip`);
      }
    }
  };
  for (let run = 0; run < 8; run++) {
    await runAndKill("synthetic", dir, rand() * 900);
    await check();
  }
  await orphansGone(dir); // the next run starts once the killed run's ffmpeg has stopped
  await Effect.runPromise(
    Stream.runDrain(synthetic(dir, { seed: 3, count: 4 })).pipe(Effect.provide(ffmpegLayer)),
  );
  await check();
  assert.deepEqual((await ls(dir)).filter(isTemp), [], "temps left after the next run");
  assert.equal((await ls(dir)).length, 8);
});
