import assert from "node:assert/strict";
import { configs, type MirasolConfig } from "../../model/config.ts";
import { MemoryError, requireFits, trainingBytes } from "../../train/memory.ts";
import { paramBytes, paramShapes } from "../../transforms/param_shapes.ts";
import { init } from "../../model/mirasol.ts";

Deno.test("paper3b cannot train on wasm: a MemoryError names the config, batch and both sizes before any allocation", () => {
  assert.throws(() => requireFits(configs.paper3b as MirasolConfig, 8, "wasm"), (e: unknown) => {
    assert.ok(e instanceof MemoryError, String(e));
    assert.match(
      e.message,
      /^Cannot train config 'paper3b' with batch 8: it needs about [\d.]+ GiB .* more than the 4\.0 GiB the wasm backend/,
    );
    return true;
  });
});

Deno.test("tiny fits on wasm, and the estimate counts at least params, gradients and both Adam moments", () => {
  requireFits(configs.tiny as MirasolConfig, 8, "wasm");
  const t = trainingBytes(configs.tiny as MirasolConfig, 8);
  assert.ok(t.total >= 4 * paramBytes(paramShapes(init, configs.tiny as MirasolConfig)));
});

Deno.test("the estimate grows with the batch and never shrinks", () => {
  const c = configs.small as MirasolConfig;
  const sizes = [1, 2, 4, 8].map((b) => trainingBytes(c, b).total);
  assert.ok(sizes.every((s, i) => i === 0 || s > sizes[i - 1]), sizes.join(" "));
});
