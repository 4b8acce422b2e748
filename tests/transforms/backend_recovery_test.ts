/**
 * A real wasm abort, in this process: tensors are allocated until wasm's 4 GiB address space runs
 * out and the module aborts; from then on every op throws. resetBackend() must bring back a wasm
 * backend that computes the right numbers, and do so again after a second abort.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  backendAlive,
  currentBackend,
  isBackendAbort,
  resetBackend,
  setBackend,
} from "../../transforms/backend.ts";

await setBackend("wasm");

const smallMatMul = () =>
  tf.tidy(() => [...tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync()]);

/** Fills 1 GiB tensors until the module aborts; returns the error of the first op that failed. */
function exhaustWasm(): unknown {
  const kept: tf.Tensor[] = [];
  for (let i = 0; i < 8; i++) {
    try {
      kept.push(tf.fill([2 ** 28], i)); // 1 GiB of float32
      smallMatMul();
    } catch (e) {
      return e;
    }
  }
  return undefined;
}

Deno.test("after a real wasm out-of-memory abort, resetBackend() gives a wasm backend that computes a matmul right, twice over", async () => {
  assert.deepEqual(smallMatMul(), [19, 22, 43, 50]);
  for (let round = 0; round < 2; round++) {
    const e = exhaustWasm();
    assert.ok(isBackendAbort(e), `round ${round}: 8 GiB of tensors did not abort wasm, got ${e}`);
    assert.equal(backendAlive(), false, "the aborted backend still computes");
    assert.throws(
      smallMatMul,
      (err: unknown) => isBackendAbort(err),
      "an op on the dead backend did not throw",
    );
    assert.equal(await resetBackend(), "wasm");
    assert.equal(currentBackend(), "wasm");
    assert.ok(backendAlive());
    assert.deepEqual(smallMatMul(), [19, 22, 43, 50]);
    // the fresh module starts small: the aborted one's memory is not carried over
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    assert.ok(heap < 2 ** 30, `the new wasm heap is ${heap} bytes`);
  }
});

Deno.test("isBackendAbort() is true only for a wasm abort, not for ordinary errors", () => {
  assert.equal(isBackendAbort(new WebAssembly.RuntimeError("Aborted(). Build with -sASSERTIONS")), true);
  assert.equal(isBackendAbort(new WebAssembly.RuntimeError("unreachable")), false);
  assert.equal(isBackendAbort(new RangeError("offset is out of bounds")), false);
  assert.equal(isBackendAbort("Aborted()"), false);
});

Deno.test("resetBackend() on a healthy backend keeps its name and its results", async () => {
  const before = smallMatMul();
  await resetBackend();
  assert.equal(currentBackend(), "wasm");
  assert.deepEqual(smallMatMul(), before);
});
