import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BundleEntry,
  BundleError,
  dataPath,
  indexPath,
  readBundle,
  writeBundle,
} from "../../formats/tensor_bundle.ts";

const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const SCRIPT = new URL("./tensor_bundle_tf.py", import.meta.url).pathname;
const utf8 = (s: string) => new TextEncoder().encode(s);

const b64 = (b: Uint8Array) => btoa(Array.from(b, (c) => String.fromCharCode(c)).join(""));
const rawBytes = (e: BundleEntry): Uint8Array[] =>
  Array.isArray(e.data) ? e.data : [new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength)];
const toJson = (e: BundleEntry) => ({
  key: e.key,
  dtype: e.dtype,
  shape: e.shape,
  data: Array.isArray(e.data) ? e.data.map(b64) : b64(rawBytes(e)[0]),
});

/** Entry equality by dtype, shape and exact bytes (so NaN payloads and -0 count too). */
function assertSameEntry(got: BundleEntry | undefined, want: BundleEntry): void {
  assert.ok(got, `entry '${want.key}' is missing`);
  assert.equal(got.dtype, want.dtype, `dtype of '${want.key}'`);
  assert.deepEqual(got.shape, want.shape, `shape of '${want.key}'`);
  assert.deepEqual(
    rawBytes(got).map((b) => Array.from(b)),
    rawBytes(want).map((b) => Array.from(b)),
    `bytes of '${want.key}'`,
  );
}

/** A mix of every dtype, more than 16 keys (so restart points matter), in unsorted order. */
function mixedEntries(): BundleEntry[] {
  const out: BundleEntry[] = [
    { key: "w", dtype: "float32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    {
      key: "opt_state/mu/video_encoder/blocks/10/attn/q/w",
      dtype: "float32",
      shape: [3, 2, 2],
      data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 1e-3),
    },
    { key: "meta/step", dtype: "int64", shape: [], data: new BigInt64Array([9007199254740993n]) },
    {
      key: "meta/neg",
      dtype: "int64",
      shape: [3],
      data: new BigInt64Array([-1n, -(2n ** 63n), 2n ** 63n - 1n]),
    },
    { key: "meta/key", dtype: "uint32", shape: [2], data: new Uint32Array([0xdeadbeef, 0xffffffff]) },
    { key: "ints", dtype: "int32", shape: [4], data: new Int32Array([-2147483648, -1, 0, 2147483647]) },
    { key: "mask", dtype: "bool", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
    {
      key: "bf16",
      dtype: "bfloat16",
      shape: [3],
      data: new Uint8Array([0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40]),
    },
    {
      key: "_CHECKPOINTABLE_OBJECT_GRAPH",
      dtype: "string",
      shape: [],
      data: [new Uint8Array([0x0a, 0x00, 0xff, 0x80])],
    },
    { key: "names", dtype: "string", shape: [2, 2], data: ["", "é", "a".repeat(300), "x"].map(utf8) },
    { key: "empty", dtype: "float32", shape: [0, 3], data: new Float32Array(0) },
    { key: "special", dtype: "float32", shape: [4], data: new Float32Array([NaN, -0, Infinity, 1e-45]) },
    { key: "é/non_ascii", dtype: "int32", shape: [1], data: new Int32Array([7]) },
    { key: "z\u{1F600}", dtype: "int32", shape: [1], data: new Int32Array([8]) }, // UTF-8 sorts it after "z\uFFFF"
    { key: "z\uFFFF", dtype: "int32", shape: [1], data: new Int32Array([9]) },
  ];
  for (let i = 0; i < 30; i++) { // shared prefixes and 0xff-free successors across restart points
    const key = `params/blocks/${i}/mlp/${i % 2 ? "b" : "w"}`;
    out.push({
      key,
      dtype: "float32",
      shape: [i % 3 + 1],
      data: Float32Array.from({ length: i % 3 + 1 }, (_, j) => i + j / 8),
    });
  }
  return out;
}

/**
 * Enough small entries that the index passes 256 KiB and spans two data blocks; keys step by 3, so
 * the index key between the blocks is a shortened separator rather than the block's last key.
 */
const manyEntries = (): BundleEntry[] =>
  Array.from({ length: 12000 }, (_, i) => ({
    key: `params/layer_${String(3 * i).padStart(6, "0")}/scale`,
    dtype: "float32" as const,
    shape: [],
    data: new Float32Array([i]),
  }));

const CASES = { mixed: mixedEntries(), many: manyEntries() };
type Case = keyof typeof CASES;

/** One Python process for the whole file: TF saves every case and loads the ones we wrote. */
const tfRun = (async () => {
  const dir = await Deno.makeTempDir({ prefix: "bundle_tf_" });
  const ours = (c: Case) => `${dir}/ours_${c}/ckpt`;
  const theirs = (c: Case) => `${dir}/tf_${c}/ckpt`;
  for (const c of Object.keys(CASES) as Case[]) {
    await Deno.mkdir(`${dir}/ours_${c}`);
    await writeBundle(ours(c), CASES[c]);
  }
  const job = {
    save: (Object.keys(CASES) as Case[]).map((c) => ({ prefix: theirs(c), entries: CASES[c].map(toJson) })),
    load: (Object.keys(CASES) as Case[]).map(ours),
  };
  const child = new Deno.Command(PYTHON, { args: [SCRIPT], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(utf8(JSON.stringify(job)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`tensor_bundle_tf.py failed: ${new TextDecoder().decode(stderr)}`);
  const loaded = JSON.parse(new TextDecoder().decode(stdout)).loaded as Record<
    string,
    Record<string, ReturnType<typeof toJson>>
  >;
  return { ours, theirs, loaded };
})();

Deno.test("writeBundle() reproduces the documented 125-byte index for w = float32 [2,3] 1..6", async () => {
  const dir = await Deno.makeTempDir();
  await writeBundle(`${dir}/w`, [{
    key: "w",
    dtype: "float32",
    shape: [2, 3],
    data: new Float32Array([1, 2, 3, 4, 5, 6]),
  }]);
  const index = await Deno.readFile(indexPath(`${dir}/w`));
  assert.equal(index.length, 125);
  const entry = [
    0x08,
    0x01,
    0x12,
    0x08,
    0x12,
    0x02,
    0x08,
    0x02,
    0x12,
    0x02,
    0x08,
    0x03,
    0x28,
    0x18,
    0x35,
    0x7a,
    0xeb,
    0xf5,
    0xab,
  ];
  assert.deepEqual(Array.from(index.subarray(0, 13 + entry.length)), [
    0,
    0,
    6,
    8,
    1,
    0x1a,
    2,
    8,
    1,
    0,
    1,
    0x13,
    0x77,
    ...entry,
  ]);
  assert.deepEqual(Array.from(index.subarray(117)), [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
  assert.equal((await Deno.readFile(dataPath(`${dir}/w`))).length, 24);
  await Deno.remove(dir, { recursive: true });
});

for (const c of Object.keys(CASES) as Case[]) {
  Deno.test(`writeBundle() output is byte-identical to TensorFlow's SaveV2 (${c}: ${CASES[c].length} entries)`, async () => {
    const { ours, theirs } = await tfRun;
    for (const path of [indexPath, (p: string) => dataPath(p)]) {
      const [a, b] = [await Deno.readFile(path(ours(c))), await Deno.readFile(path(theirs(c)))];
      assert.equal(a.length, b.length, `${path("ckpt")} sizes differ`);
      const at = a.findIndex((x, i) => x !== b[i]);
      assert.equal(at, -1, `${path("ckpt")} differs first at byte ${at}`);
    }
  });

  Deno.test(`tf.train.load_checkpoint reads back every entry we wrote (${c})`, async () => {
    const { ours, loaded } = await tfRun;
    const got = loaded[ours(c)];
    assert.equal(Object.keys(got).length, CASES[c].length);
    for (const want of CASES[c]) {
      const g = got[want.key];
      assert.ok(g, `TF did not find '${want.key}'`);
      assert.deepEqual({ dtype: g.dtype, shape: g.shape, data: g.data }, {
        dtype: want.dtype,
        shape: want.shape,
        data: toJson(want).data,
      }, want.key);
    }
  });

  Deno.test(`readBundle() reads TensorFlow-written bundles exactly (${c})`, async () => {
    const { theirs } = await tfRun;
    const got = await readBundle(theirs(c));
    assert.equal(got.size, CASES[c].length);
    for (const want of CASES[c]) assertSameEntry(got.get(want.key), want);
  });
}

const arbEntry: fc.Arbitrary<BundleEntry> = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const f32 = fc.float32Array({ minLength: n, maxLength: n });
    return fc.oneof(
      f32.map((d): Omit<BundleEntry, "key"> => ({ dtype: "float32", shape, data: d })),
      fc.array(fc.integer(), { minLength: n, maxLength: n }).map((d) => ({
        dtype: "int32" as const,
        shape,
        data: Int32Array.from(d),
      })),
      fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: n, maxLength: n })
        .map((d) => ({ dtype: "int64" as const, shape, data: BigInt64Array.from(d) })),
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: n, maxLength: n }).map((d) => ({
        dtype: "uint32" as const,
        shape,
        data: Uint32Array.from(d),
      })),
      fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((d) => ({
        dtype: "bool" as const,
        shape,
        data: Uint8Array.from(d, Number),
      })),
      fc.uint8Array({ minLength: 2 * n, maxLength: 2 * n }).map((d) => ({
        dtype: "bfloat16" as const,
        shape,
        data: d,
      })),
      fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: n, maxLength: n }).map((d) => ({
        dtype: "string" as const,
        shape,
        data: d,
      })),
    );
  }),
).map((e) => ({ key: "", ...e }));

Deno.test("readBundle(writeBundle(entries)) gives back every entry exactly", async () => {
  const dir = await Deno.makeTempDir();
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12, unit: "binary" }), arbEntry), {
        maxLength: 40,
        selector: ([k]) => k,
      }),
      async (pairs) => {
        const entries = pairs.map(([key, e]) => ({ ...e, key }));
        await writeBundle(`${dir}/p`, entries);
        const got = await readBundle(`${dir}/p`);
        assert.equal(got.size, entries.length);
        for (const want of entries) assertSameEntry(got.get(want.key), want);
      },
    ),
    { numRuns: 100, seed: 5 },
  );
  await Deno.remove(dir, { recursive: true });
});

async function corrupted(edit: (prefix: string) => Promise<void>): Promise<BundleError> {
  const dir = await Deno.makeTempDir();
  const prefix = `${dir}/c`;
  await writeBundle(prefix, mixedEntries());
  await edit(prefix);
  const err = await readBundle(prefix).then(() => null, (e) => e);
  await Deno.remove(dir, { recursive: true });
  assert.ok(err instanceof BundleError, `expected a BundleError, got ${err}`);
  return err;
}

Deno.test("a flipped data byte is a BundleError checksum mismatch naming the entry", async () => {
  const err = await corrupted(async (prefix) => {
    const data = await Deno.readFile(dataPath(prefix));
    data[0] ^= 0x01; // first byte of 'w', the first entry written
    await Deno.writeFile(dataPath(prefix), data);
  });
  assert.equal(err.kind, "checksum");
  assert.equal(err.key, "w");
  assert.match(err.message, /entry 'w': data checksum mismatch/);
});

Deno.test("a truncated index file is a BundleError naming the file", async () => {
  const err = await corrupted(async (prefix) => {
    const index = await Deno.readFile(indexPath(prefix));
    await Deno.writeFile(indexPath(prefix), index.subarray(0, index.length - 20));
  });
  assert.equal(err.kind, "bad_magic");
  assert.match(err.message, /c\.index': not an sstable/);
  const short = await corrupted(async (prefix) =>
    await Deno.writeFile(indexPath(prefix), new Uint8Array(30))
  );
  assert.equal(short.kind, "truncated");
});

Deno.test("a flipped index byte is a block checksum mismatch; a truncated data file names the entry", async () => {
  const flipped = await corrupted(async (prefix) => {
    const index = await Deno.readFile(indexPath(prefix));
    index[20] ^= 0x40;
    await Deno.writeFile(indexPath(prefix), index);
  });
  assert.equal(flipped.kind, "checksum");
  assert.match(flipped.message, /data block 0 checksum mismatch/);
  const truncated = await corrupted(async (prefix) => {
    const data = await Deno.readFile(dataPath(prefix));
    await Deno.writeFile(dataPath(prefix), data.subarray(0, data.length - 1));
  });
  assert.equal(truncated.kind, "truncated");
  assert.equal(truncated.key, mixedEntries().at(-1)!.key);
});

Deno.test("writeBundle() rejects data that does not fit the dtype and shape, and duplicate keys", async () => {
  const dir = await Deno.makeTempDir();
  const bad: [BundleEntry[], RegExp][] = [
    [
      [{ key: "a", dtype: "float32", shape: [2, 2], data: new Float32Array(3) }],
      /entry 'a': shape \[2,2\] of float32 needs 16 bytes, got 12/,
    ],
    [
      [{ key: "a", dtype: "int64", shape: [1], data: new Int32Array(2) }],
      /entry 'a': dtype int64 needs a BigInt64Array, got Int32Array/,
    ],
    [
      [{ key: "s", dtype: "string", shape: [2], data: [utf8("x")] }],
      /entry 's': shape \[2\] has 2 elements, got 1 strings/,
    ],
    [[{ key: "a", dtype: "int32", shape: [], data: new Int32Array(1) }, {
      key: "a",
      dtype: "int32",
      shape: [],
      data: new Int32Array(1),
    }], /key appears twice/],
  ];
  for (const [entries, message] of bad) {
    await assert.rejects(
      writeBundle(`${dir}/x`, entries),
      (e: unknown) => e instanceof BundleError && message.test(e.message),
    );
  }
  assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing is left behind");
  await Deno.remove(dir);
});
