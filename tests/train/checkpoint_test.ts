import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { writeBundle } from "../../formats/tensor_bundle.ts";
import {
  CheckpointCorrupt,
  CheckpointMismatch,
  loadCheckpoint,
  saveCheckpoint,
} from "../../train/checkpoint.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Leaf, type Tree, treeDispose, treeFlatten, treeShapes } from "../../transforms/tree.ts";
import {
  adamw,
  applyUpdates,
  type GradientTransformation,
  type OptState,
  type Params,
} from "../../transforms/optim/mod.ts";

await setBackend("wasm");

const DENO = Deno.execPath();
const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const WRITER = new URL("./checkpoint_writer.ts", import.meta.url).pathname;
const TF_READER = new URL("./checkpoint_tf.py", import.meta.url).pathname;
const CONFIG = { name: "tiny", video: { frames: 8, chunks: 2 }, depth: [2, 2] };

const makeParams = () => ({
  video_encoder: {
    blocks: [{ attn: { q: { w: tf.tensor([1.5, -2, 3e-8, NaN, -0, 6], [2, 3]) } } }, {
      ln: { scale: tf.ones([4]) },
    }],
  },
  text_decoder: { embed: { w: tf.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]) }, bias: null },
});
const makeState = (params: Params) => adamw({ learningRate: 1e-3 }).init(params);

/** Every leaf's path, dtype, shape and exact bytes. */
function snapshot(tree: Tree<tf.Tensor>): [string, string, number[], number[]][] {
  const { leaves, paths } = treeFlatten(tree);
  return leaves.map((
    l,
    i,
  ) => [paths[i], l.dtype, [...l.shape], Array.from(new Uint8Array(l.dataSync().buffer.slice(0)))]);
}
async function dirBytes(dir: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for await (const e of Deno.readDir(dir)) out[e.name] = Array.from(await Deno.readFile(`${dir}/${e.name}`));
  return out;
}

Deno.test("loadCheckpoint(saveCheckpoint(x)) gives back params, optimizer state, step, key and config exactly", async () => {
  const dir = await Deno.makeTempDir();
  const params = makeParams();
  const optState = makeState(params);
  const info = await saveCheckpoint(dir, {
    params,
    optState,
    step: 9007199254740991,
    key: PRNGKey(2 ** 40 + 5),
    config: CONFIG,
  });
  assert.equal(info.paramCount, 6 + 4 + 6);
  assert.equal(info.configName, "tiny");
  assert.deepEqual(info.files.map((f) => f.name), [
    "ckpt-9007199254740991.index",
    "ckpt-9007199254740991.data-00000-of-00001",
  ]);

  const like = await loadCheckpoint(dir, {
    like: { params: treeShapes(params), optState: treeShapes(optState) },
    config: CONFIG,
  });
  assert.deepEqual(snapshot(like.params as Tree<tf.Tensor>), snapshot(params));
  assert.deepEqual(snapshot(like.optState as Tree<tf.Tensor>), snapshot(optState));
  assert.equal(
    (like.params as typeof params).text_decoder.bias,
    null,
    "empty subtrees come back with `like`",
  );
  assert.equal(like.step, 9007199254740991);
  assert.deepEqual([...like.key], [...PRNGKey(2 ** 40 + 5)]);
  assert.deepEqual(like.config, CONFIG);

  const plain = await loadCheckpoint(dir);
  assert.ok(
    Array.isArray((plain.params as typeof params).video_encoder.blocks),
    "numeric path segments become arrays",
  );
  assert.deepEqual(snapshot(plain.params), snapshot(params));
  treeDispose(
    [params, optState, like.params, like.optState, plain.params, plain.optState] as Tree<tf.Tensor>[],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a bundle without meta/structure (as the TF driver writes) loads with trees rebuilt from the paths", async () => {
  const dir = await Deno.makeTempDir();
  const f32 = (...v: number[]) => ({ dtype: "float32" as const, data: new Float32Array(v) });
  await writeBundle(`${dir}/ckpt-2`, [
    { key: "params/blocks/0/w", shape: [2], ...f32(1, 2) },
    { key: "params/blocks/1/w", shape: [1], ...f32(3) },
    { key: "params/head/b", shape: [], ...f32(4) },
    { key: "meta/step", dtype: "int64", shape: [], data: new BigInt64Array([2n]) },
    { key: "meta/key", dtype: "uint32", shape: [2], data: new Uint32Array([0, 9]) },
    { key: "meta/config", dtype: "string", shape: [], data: [new TextEncoder().encode('{"name":"tf"}')] },
  ]);
  await Deno.writeTextFile(`${dir}/checkpoint.json`, JSON.stringify({ prefix: "ckpt-2" }));
  const { params, optState, step } = await loadCheckpoint(dir);
  const p = params as { blocks: { w: tf.Tensor }[]; head: { b: tf.Tensor } };
  assert.ok(Array.isArray(p.blocks));
  assert.deepEqual([
    Array.from(p.blocks[0].w.dataSync()),
    Array.from(p.blocks[1].w.dataSync()),
    p.head.b.shape,
  ], [[1, 2], [3], []]);
  assert.deepEqual([optState, step], [{}, 2]);
  treeDispose(params);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tf.train.load_checkpoint(dir) reads every tensor of our checkpoint with its value", async () => {
  const dir = await Deno.makeTempDir();
  const params = makeParams();
  const optState = makeState(params);
  await saveCheckpoint(dir, { params, optState, step: 12, key: PRNGKey(3), config: CONFIG });
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, { args: [TF_READER, dir] }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const tfView = JSON.parse(new TextDecoder().decode(stdout)) as Record<
    string,
    { dtype: string; shape: number[]; hex: string }
  >;
  const hex = (a: ArrayBufferView) =>
    Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  const want: Record<string, { dtype: string; shape: number[]; hex: string }> = {
    "meta/step": { dtype: "int64", shape: [], hex: hex(new BigInt64Array([12n])) },
    "meta/key": { dtype: "uint32", shape: [2], hex: hex(Uint32Array.from(PRNGKey(3))) },
    "meta/config": { dtype: "string", shape: [], hex: hex(new TextEncoder().encode(JSON.stringify(CONFIG))) },
  };
  for (const [prefix, tree] of [["params/", params], ["opt_state/", optState]] as const) {
    const { leaves, paths } = treeFlatten(tree as Tree<tf.Tensor>);
    leaves.forEach((
      l,
      i,
    ) => (want[prefix + paths[i]] = { dtype: l.dtype, shape: [...l.shape], hex: hex(l.dataSync()) }));
  }
  delete tfView["meta/structure"];
  assert.deepEqual(Object.keys(tfView).sort(), Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) assert.deepEqual(tfView[k], w, k); // exact bytes, NaN and -0 included
  treeDispose([params, optState]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint of another tree or config is a CheckpointMismatch naming the first differing leaf and both shapes", async () => {
  const dir = await Deno.makeTempDir();
  const params = makeParams();
  await saveCheckpoint(dir, { params, optState: {}, step: 1, key: PRNGKey(0), config: CONFIG });
  const shapes = treeShapes(params) as Tree<Leaf>;
  const cases: [Tree<Leaf>, unknown, RegExp][] = [
    [
      { ...shapes as object, text_decoder: { embed: { w: { shape: [4, 2], dtype: "float32" } } } },
      undefined,
      /params\/text_decoder\/embed\/w is float32 \[3, 2\] in the checkpoint but float32 \[4, 2\] in the model/,
    ],
    [
      { ...shapes as object, extra: { w: { shape: [1], dtype: "float32" } } },
      undefined,
      /params\/extra\/w is missing in the checkpoint but float32 \[1\]/,
    ],
    [
      { video_encoder: (shapes as { video_encoder: Tree<Leaf> }).video_encoder },
      undefined,
      /params\/text_decoder\/embed\/w is float32 \[3, 2\] in the checkpoint but absent/,
    ],
    [
      shapes,
      { ...CONFIG, video: { frames: 16, chunks: 2 } },
      /config\.video\.frames is 8 in the checkpoint but 16 in the model/,
    ],
  ];
  const before = await dirBytes(dir);
  for (const [like, config, message] of cases) {
    await assert.rejects(loadCheckpoint(dir, { like: { params: like }, config }), (e: unknown) => {
      assert.ok(e instanceof CheckpointMismatch, `expected CheckpointMismatch, got ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.deepEqual(await dirBytes(dir), before, "a failed load changes nothing");
  treeDispose(params);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a corrupted or truncated checkpoint file is a CheckpointCorrupt naming the file, and nothing is overwritten", async () => {
  const dir = await Deno.makeTempDir();
  const params = makeParams();
  const info = await saveCheckpoint(dir, { params, optState: {}, step: 3, key: PRNGKey(0), config: CONFIG });
  const [index, data] = info.files.map((f) => `${dir}/${f.name}`);
  const good = await dirBytes(dir);
  const edits: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    [data, (b) => (b[5] ^= 0x10, b), /ckpt-3\.data-00000-of-00001'.*entry 'params\/.*checksum mismatch/],
    [index, (b) => b.subarray(0, b.length - 7), /ckpt-3\.index'.*not an sstable/],
    [data, (b) => b.subarray(0, 10), /ckpt-3\.data-00000-of-00001'.*needs bytes/],
    [`${dir}/checkpoint.json`, (b) => b.subarray(0, 20), /checkpoint\.json': not JSON/],
  ];
  for (const [file, edit, message] of edits) {
    await Deno.writeFile(file, edit(new Uint8Array(good[file.split("/").pop()!])));
    await assert.rejects(
      loadCheckpoint(dir),
      (e: unknown) => e instanceof CheckpointCorrupt && message.test(e.message),
    );
    await Deno.writeFile(file, new Uint8Array(good[file.split("/").pop()!]));
  }
  // A save that fails (a dtype the format does not take) leaves the committed checkpoint as it was.
  const bad = { w: tf.tensor(["not a number"]) };
  await assert.rejects(
    saveCheckpoint(dir, { params: bad, optState: {}, step: 4, key: PRNGKey(0), config: CONFIG }),
    /dtype string/,
  );
  assert.deepEqual(await dirBytes(dir), good);
  treeDispose([params, bad]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a writer killed with SIGKILL mid-save leaves the previous checkpoint loadable, and the next save cleans up", async () => {
  const dir = await Deno.makeTempDir();
  const params = makeParams();
  await saveCheckpoint(dir, { params, optState: {}, step: 5, key: PRNGKey(5), config: CONFIG });
  const committed = new Set(Object.keys(await dirBytes(dir)));
  let killedMidWrite = 0;
  for (let attempt = 0; attempt < 4 && killedMidWrite === 0; attempt++) {
    const child = new Deno.Command(DENO, {
      args: ["run", "-A", WRITER, dir, String(12_000_000), "6"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read(); // "saving"
    assert.match(new TextDecoder().decode(value), /saving/);
    let seen: string | undefined;
    for (let polls = 0; polls < 20000 && !seen; polls++) {
      for await (const e of Deno.readDir(dir)) if (!committed.has(e.name)) seen = e.name;
      if (!seen) await new Promise((r) => setTimeout(r, 1));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const info = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint.json`));
    if (status.signal === "SIGKILL" && info.step === 5) killedMidWrite++;
  }
  assert.equal(killedMidWrite, 1, "the writer was never caught mid-write");
  assert.ok(
    [...Deno.readDirSync(dir)].some((e) => !committed.has(e.name)),
    "the killed writer left partial files",
  );
  const loaded = await loadCheckpoint(dir, { like: { params: treeShapes(params) }, config: CONFIG });
  assert.equal(loaded.step, 5);
  assert.deepEqual(snapshot(loaded.params as Tree<tf.Tensor>), snapshot(params));

  await saveCheckpoint(dir, { params, optState: {}, step: 7, key: PRNGKey(7), config: CONFIG });
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "checkpoint",
    "checkpoint.json",
    "ckpt-7.data-00000-of-00001",
    "ckpt-7.index",
  ]);
  treeDispose([params, loaded.params as Tree<tf.Tensor>, loaded.optState]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("3 adamw steps, save, load, 3 more steps give bit-identical params to 6 uninterrupted steps", async () => {
  const dir = await Deno.makeTempDir();
  const opt: GradientTransformation = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
  const grads = (t: number): Params =>
    tf.tidy(() => ({
      w: tf.sin(tf.mul(tf.reshape(tf.range(1, 7), [2, 3]), t + 1)),
      b: tf.cos(tf.mul(tf.range(0, 3), t)),
    }));
  const steps = (params: Params, state: OptState, from: number, to: number) => {
    for (let t = from; t < to; t++) {
      const g = grads(t);
      const { updates, state: next } = opt.update(g, state, params);
      const p = applyUpdates(params, updates);
      treeDispose([g, updates, state, params]);
      [params, state] = [p, next];
    }
    return { params, state };
  };
  const start = () => ({ w: tf.tensor([[0.5, -1, 2], [3, -4, 0.25]]), b: tf.zeros([3]) });
  const p0 = start();
  const straight = steps(p0, opt.init(p0), 0, 6);
  const p1 = start();
  const half = steps(p1, opt.init(p1), 0, 3);
  await saveCheckpoint(dir, {
    params: half.params,
    optState: half.state,
    step: 3,
    key: PRNGKey(0),
    config: CONFIG,
  });
  treeDispose([half.params, half.state]);
  const resumed = await loadCheckpoint(dir);
  const rest = steps(resumed.params, resumed.optState, resumed.step, 6);
  assert.deepEqual(snapshot(rest.params), snapshot(straight.params));
  assert.deepEqual(snapshot(rest.state), snapshot(straight.state));
  treeDispose([straight.params, straight.state, rest.params, rest.state]);
  await Deno.remove(dir, { recursive: true });
});
