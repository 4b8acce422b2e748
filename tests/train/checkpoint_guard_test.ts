import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import {
  CheckpointClash,
  CheckpointCorrupt,
  CheckpointWriteError,
  loadCheckpoint,
  saveCheckpoint,
} from "../../train/checkpoint.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { treeDispose } from "../../transforms/tree.ts";

await setBackend("wasm");

const CONFIG = { name: "tiny", losses: { text: 1 }, depth: [2, 2] };
const params = () => ({ w: tf.tensor([1, 2, 3]), b: tf.zeros([2]) });

/** A folder with one good checkpoint of CONFIG at step 3, and its files' bytes. */
async function goodDir(): Promise<{ dir: string; bytes: Record<string, string> }> {
  const dir = await Deno.makeTempDir();
  const p = params();
  await saveCheckpoint(dir, { params: p, optState: {}, step: 3, key: PRNGKey(3), config: CONFIG });
  treeDispose(p);
  return { dir, bytes: await listing(dir) };
}
async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) out[e.name] = (await Deno.readFile(`${dir}/${e.name}`)).join(",");
  return out;
}

/** The pid of a process that has exited (a killed writer). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ["an undefined config", { config: undefined }, /config is undefined/],
  ["a null config", { config: null }, /config is null/],
  ["a NaN config field", { config: { ...CONFIG, losses: { text: NaN } } }, /config\.losses\.text is NaN/],
  [
    "a config field that is undefined",
    { config: { ...CONFIG, depth: [2, undefined] } },
    /config\.depth\[1\] is undefined/,
  ],
  ["a negative step", { step: -1 }, /step must be a non-negative integer, got -1/],
  ["a fractional step", { step: 1.5 }, /step must be a non-negative integer, got 1.5/],
  ["a key of 3 words", { key: new Uint32Array(3) }, /key must be 2 uint32 words/],
  ["a disposed param", { disposed: true }, /params\/w is a disposed tensor/],
];
for (const [what, change, message] of BAD) {
  Deno.test(`saveCheckpoint with ${what} fails with CheckpointWriteError before writing, keeping the last good checkpoint`, async () => {
    const { dir, bytes } = await goodDir();
    const p = params();
    if (change.disposed) p.w.dispose();
    const ckpt = { params: p, optState: {}, step: 4, key: PRNGKey(4), config: CONFIG, ...change };
    await assert.rejects(
      saveCheckpoint(dir, ckpt as Parameters<typeof saveCheckpoint>[1]),
      (e) => e instanceof CheckpointWriteError && message.test(e.message),
    );
    assert.deepEqual(await listing(dir), bytes, "the folder changed");
    const loaded = await loadCheckpoint(dir, { config: CONFIG });
    assert.equal(loaded.step, 3);
    treeDispose([p, loaded.params]);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("saveCheckpoint into a folder of another config is a CheckpointClash naming both, unless overwrite", async () => {
  const { dir, bytes } = await goodDir();
  const p = params();
  const other = { ...CONFIG, name: "other" };
  await assert.rejects(
    saveCheckpoint(dir, { params: p, optState: {}, step: 9, key: PRNGKey(9), config: other }),
    (e) => e instanceof CheckpointClash && /config 'tiny', not of config 'other'/.test(e.message),
  );
  // the same name with another value is another config too
  await assert.rejects(
    saveCheckpoint(dir, {
      params: p,
      optState: {},
      step: 9,
      key: PRNGKey(9),
      config: { ...CONFIG, depth: [3] },
    }),
    CheckpointClash,
  );
  assert.deepEqual(await listing(dir), bytes);
  await saveCheckpoint(dir, { params: p, optState: {}, step: 9, key: PRNGKey(9), config: other }, {
    overwrite: true,
  });
  const loaded = await loadCheckpoint(dir, { config: other });
  assert.equal(loaded.step, 9);
  treeDispose([p, loaded.params]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a killed writer's temporary sidecar is removed by the next save; a live writer's is kept", async () => {
  const { dir } = await goodDir();
  const dead = `${dir}/checkpoint.json.tmp-${await deadPid()}-0badf00d`;
  const mine = `${dir}/checkpoint.tmp-${Deno.pid}-0badf00d`;
  const foreign = `${dir}/notes.txt.tmp-${await deadPid()}-0badf00d`;
  for (const f of [dead, mine, foreign]) await Deno.writeTextFile(f, "partial");
  const p = params();
  await saveCheckpoint(dir, { params: p, optState: {}, step: 4, key: PRNGKey(4), config: CONFIG });
  const names = Object.keys(await listing(dir)).sort();
  assert.ok(!names.includes(dead.split("/").pop()!), "the dead writer's temp is still there");
  assert.ok(names.includes(mine.split("/").pop()!), "a live writer's temp was removed");
  assert.ok(names.includes(foreign.split("/").pop()!), "a temp of another program was removed");
  treeDispose(p);
  await Deno.remove(dir, { recursive: true });
});

const SIDECARS: [string, unknown, RegExp][] = [
  ["a prefix that is a number", { prefix: 5 }, /prefix: Expected string, got 5/],
  ["a prefix outside the folder", { prefix: "../x" }, /prefix: Expected a bundle prefix ckpt-<step>/],
  ["a negative step", { prefix: "ckpt-3", step: -2 }, /step: .*-2/],
  ["files that are not a list", { prefix: "ckpt-3", files: "x" }, /files: Expected array/],
  ["a JSON array", [1], /checkpoint\.json: Expected object/],
];
for (const [what, sidecar, message] of SIDECARS) {
  Deno.test(`a checkpoint.json with ${what} is a CheckpointCorrupt naming the field`, async () => {
    const { dir } = await goodDir();
    await Deno.writeTextFile(`${dir}/checkpoint.json`, JSON.stringify(sidecar));
    await assert.rejects(loadCheckpoint(dir), (e) => {
      assert.ok(e instanceof CheckpointCorrupt, String(e));
      assert.match(e.message, message);
      return true;
    });
    await Deno.remove(dir, { recursive: true });
  });
}
