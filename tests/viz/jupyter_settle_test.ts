import assert from "node:assert/strict";
import { setBackend } from "../../transforms/backend.ts";
import { settleJupyterOutputs } from "../../viz/jupyter_settle.ts";

await setBackend("cpu"); // nothing is computed here

type Publisher = ((n: number, r: unknown) => Promise<void>) & { original?: unknown };
const internals = (Deno as unknown as Record<symbol, Record<string, unknown>>)[
  (Deno as unknown as { internal: symbol }).internal
];

/** Runs `body` with a stand-in for the kernel's `broadcastResult`, restoring what was there. */
async function withKernel(fake: Publisher, body: () => Promise<void>) {
  const saved = internals.jupyter;
  internals.jupyter = { ...(saved as object | undefined), broadcastResult: fake };
  try {
    await body();
  } finally {
    internals.jupyter = saved;
  }
}

const publisher = () => (internals.jupyter as { broadcastResult: Publisher }).broadcastResult;
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("settleJupyterOutputs() outside the Deno kernel says so instead of doing nothing", () => {
  assert.throws(
    () => settleJupyterOutputs(),
    /^Error: Cannot settle Jupyter outputs: not in the Deno Jupyter kernel/,
  );
});

Deno.test("settleJupyterOutputs() makes the kernel's publisher publish first, then hold the cell open for settleMs", async () => {
  const calls: unknown[][] = [];
  await withKernel((...args) => Promise.resolve(void calls.push(args)), async () => {
    settleJupyterOutputs({ settleMs: 60 });
    let done = false;
    const cellEnd = publisher()(3, "value").then(() => (done = true));
    await tick();
    assert.deepEqual(calls, [[3, "value"]], "published at once");
    assert.equal(done, false, "the cell is reported done before the outputs had time to go out");
    await cellEnd;
    assert.equal(done, true);
  });
});

Deno.test("settleJupyterOutputs() run again (the first cell re-run) wraps the kernel's publisher once, not twice", async () => {
  let published = 0;
  const kernels: Publisher = () => Promise.resolve(void published++);
  await withKernel(kernels, async () => {
    settleJupyterOutputs({ settleMs: 0 });
    settleJupyterOutputs({ settleMs: 0 });
    assert.equal(publisher().original, kernels);
    await publisher()(1, undefined);
    assert.equal(published, 1);
    assert.throws(() => settleJupyterOutputs({ settleMs: -1 }), /expected settleMs >= 0, got -1/);
  });
});
