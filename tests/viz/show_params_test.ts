import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { paramNodes, type ParamTree, showParams } from "../../viz/show_params.ts";
import { VizInputError } from "../../viz/errors.ts";
import { JUPYTER_DISPLAY } from "../../viz/display.ts";

await setBackend("wasm");

const leafArb = fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 3 }).map((shape) => ({
  shape,
  dtype: "float32",
}));
const treeArb: fc.Arbitrary<ParamTree> = fc.letrec<{ tree: ParamTree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.array(tie("tree"), { maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z_]{1,6}$/), tie("tree"), { maxKeys: 3 }),
  ),
})).tree;

/** Naive oracle: every leaf's path and size. */
function leaves(tree: ParamTree, path = ""): [string, number][] {
  if ("shape" in tree && Array.isArray(tree.shape)) {
    return [[
      path,
      (tree.shape as number[]).reduce((a, b) => a * b, 1),
    ]];
  }
  const entries = Array.isArray(tree) ? tree.map((c, i) => [String(i), c] as const) : Object.entries(tree);
  return entries.flatMap(([k, c]) => leaves(c as ParamTree, path ? `${path}/${k}` : k));
}

Deno.test("showParams() counts every subtree as the sum of the leaves under its path", () => {
  fc.assert(
    fc.property(treeArb, (tree) => {
      const all = leaves(tree);
      const check = (node: ReturnType<typeof paramNodes>) => {
        const under = all.filter(([p]) =>
          node.path === "" || p === node.path || p.startsWith(node.path + "/")
        );
        assert.equal(node.count, under.reduce((s, [, c]) => s + c, 0), `count of '${node.path}'`);
        assert.equal(node.tensors, under.length, `tensors of '${node.path}'`);
        node.children.forEach(check);
      };
      const view = showParams(tree);
      check(view.root);
      assert.equal(view.total, all.reduce((s, [, c]) => s + c, 0));
    }),
    { numRuns: 100, seed: 17 },
  );
});

Deno.test("showParams() renders one <details> per subtree and one line per leaf with its shape and dtype", () => {
  const view = showParams({
    encoder: {
      blocks: [{ q: { w: { shape: [8, 2, 4], dtype: "float32" } } }, { q: { w: { shape: [8, 2, 4] } } }],
    },
    head: { b: { shape: [10], dtype: "bfloat16" } },
  });
  const subtrees = [...view.html.matchAll(/<details class="subtree" data-path="([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(subtrees, [
    "",
    "encoder",
    "encoder/blocks",
    "encoder/blocks/0",
    "encoder/blocks/0/q",
    "encoder/blocks/1",
    "encoder/blocks/1/q",
    "head",
  ]);
  assert.equal(view.html.match(/<\/details>/g)?.length, subtrees.length, "every subtree closed");
  const leavesHtml = [...view.html.matchAll(/<div class="leaf" data-path="([^"]*)"[^>]*>(.*?)<\/div>/g)].map((
    m,
  ) => [m[1], m[2].replace(/<[^>]+>/g, "")]);
  assert.deepEqual(leavesHtml.map(([p]) => p), ["encoder/blocks/0/q/w", "encoder/blocks/1/q/w", "head/b"]);
  assert.match(leavesHtml[0][1], /^w \[8, 2, 4\] float32 64 \(46\.4%\)$/);
  assert.match(leavesHtml[2][1], /^b \[10\] bfloat16 10 \(7\.25%\)$/);
  assert.match(view.html, /<details class="subtree" data-path="" open=""/);
  assert.equal(view.text.split("\n")[0], "params  138 (100%)");
});

Deno.test("showParams() reads tf tensors as leaves and renders as HTML in Jupyter", async () => {
  const params = { w: tf.zeros([3, 4]), b: tf.zeros([4], "int32") };
  try {
    const view = showParams(params);
    assert.equal(view.total, 16);
    assert.match(view.html, /\[4\] int32/);
    const bundle = await view[JUPYTER_DISPLAY]();
    assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/plain"]);
  } finally {
    tf.dispose(Object.values(params));
  }
});

Deno.test("showParams() rejects a tree with a non-tensor leaf, naming its path", () => {
  assert.throws(
    () => showParams({ a: { b: 3 } } as never),
    (e) =>
      e instanceof VizInputError &&
      e.message === "Cannot show params: expected a tensor, {shape, dtype}, array or record at 'a/b', got 3",
  );
});
