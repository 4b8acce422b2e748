/**
 * Runs tests/data/fault_table.ts: every bad input must fail with its typed error, whose message
 * names what was wrong; every malformed tokenizer file must be refused by the reference library too
 * (one Python run checks them all).
 */
import assert from "node:assert/strict";
import { Cause, Effect, Exit } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { faultTable } from "./fault_table.ts";

await setBackend("wasm");

const dir = await Deno.makeTempDir({ prefix: "fault_injection_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const TABLE = faultTable(dir);

const withReference = TABLE.filter((c) => c.reference !== undefined);
await Deno.writeTextFile(
  `${dir}/refusals_plan.json`,
  JSON.stringify(withReference.map((c) => ({ name: c.name, ...c.reference }))),
);
const py = await new Deno.Command(".venv/bin/python", {
  args: [
    new URL("./tokenizer_refusals.py", import.meta.url).pathname,
    `${dir}/refusals_plan.json`,
    `${dir}/refusals.json`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
if (!py.success) throw new Error(`tokenizer_refusals.py failed:\n${new TextDecoder().decode(py.stderr)}`);
const REFERENCE: Record<string, string> = JSON.parse(await Deno.readTextFile(`${dir}/refusals.json`));

Deno.test(`the fault table covers every class of bad input (${TABLE.length} cases)`, () => {
  const kinds = new Set(TABLE.map((c) => c.kind));
  for (
    const k of [
      "media",
      "probe",
      "annotation",
      "path",
      "tokenizer file",
      "tokenizer use",
      "options",
      "writer",
    ]
  ) {
    assert.ok(kinds.has(k as never), `no ${k} case`);
  }
  assert.equal(new Set(TABLE.map((c) => c.name)).size, TABLE.length, "two cases share a name");
});

for (const c of TABLE) {
  Deno.test(`fault: ${c.name} -> ${c.tag}`, async () => {
    const exit = await Effect.runPromiseExit(c.run().pipe(Effect.provide(ffmpegLayer)));
    assert.ok(Exit.isFailure(exit), `${c.name}: succeeded`);
    const failure = Cause.findErrorOption(exit.cause);
    assert.ok(failure._tag === "Some", `${c.name}: died instead of failing: ${Cause.pretty(exit.cause)}`);
    const error = failure.value as { _tag?: string; message?: string };
    assert.equal(error._tag, c.tag, `${c.name}: ${error.message}`);
    assert.match(error.message ?? "", c.message);
    if (c.reference) {
      assert.match(REFERENCE[c.name], /^refused/, `${c.name}: the reference library accepts it`);
    }
  });
}
