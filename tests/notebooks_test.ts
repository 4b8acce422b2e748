/**
 * Runs every notebooks/*.ipynb on the Deno kernel through `scripts/notebooks.ts` (what `deno task
 * notebooks` runs), into a temporary directory so the committed notebooks stay untouched, then checks
 * the executed outputs:
 * - no cell errored;
 * - a cell whose metadata has `"mirasol": {"expect": ["image/svg+xml", ...]}` produced those MIME types,
 *   and one with `"mirasol": {"expectText": ["..."]}` printed those strings (ANSI codes stripped);
 * - every rich output (image, HTML, Vega-Lite) of the committed notebook is produced again by the run;
 * - the committed notebook carries outputs and opens with a markdown cell saying what it shows.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { setBackend } from "../transforms/backend.ts";

await setBackend("cpu"); // the notebooks pick their own backends; this file computes nothing

const ROOT = join(import.meta.dirname!, "..");
const RICH = ["image/svg+xml", "image/png", "text/html", "application/vnd.vegalite.v5+json"];

type Output = {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
};
type Cell = {
  cell_type: string;
  source: string | string[];
  metadata: { mirasol?: { expect?: string[]; expectText?: string[] } };
  outputs?: Output[];
};
type Notebook = { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };

const joinText = (
  t: string | string[] | unknown,
) => (Array.isArray(t) ? t.join("") : typeof t === "string" ? t : "");
// CSI sequences (colours, cursor moves) as the kernel and Deno.inspect emit them
const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;?]*[A-Za-z]", "g");
const stripAnsi = (s: string) => s.replace(ANSI, "");

function cellText(cell: Cell): string {
  return stripAnsi(
    (cell.outputs ?? []).map((o) => joinText(o.text) + joinText(o.data?.["text/plain"])).join("\n"),
  );
}

function mimeTypes(cell: Cell): Set<string> {
  return new Set((cell.outputs ?? []).flatMap((o) => Object.keys(o.data ?? {})));
}

const notebooks = [...Deno.readDirSync(join(ROOT, "notebooks"))]
  .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
  .map((e) => join(ROOT, "notebooks", e.name))
  .sort();

Deno.test("deno task notebooks executes every notebook on the Deno kernel, and each shows what it promises", async (t) => {
  assert.ok(notebooks.some((p) => basename(p) === "00_smoke.ipynb"), "the smoke notebook is present");
  const out = await Deno.makeTempDir({ prefix: "notebooks_" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "scripts", "notebooks.ts"), "--output-dir", out, ...notebooks],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = stripAnsi(new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr));
    assert.ok(run.success, `deno task notebooks failed:\n${log}`);
    assert.match(log, new RegExp(`${notebooks.length} notebooks ran, 0 failed`));

    for (const path of notebooks) {
      await t.step(basename(path), async () => {
        const committed = JSON.parse(await Deno.readTextFile(path)) as Notebook;
        const executed = JSON.parse(await Deno.readTextFile(join(out, basename(path)))) as Notebook;
        assert.equal(executed.metadata.kernelspec?.name, "deno");
        assert.equal(committed.cells[0]?.cell_type, "markdown", "opens with what it shows");
        assert.ok(committed.cells.some((c) => (c.outputs ?? []).length > 0), "committed with its outputs");
        assert.equal(executed.cells.length, committed.cells.length);
        executed.cells.forEach((cell, i) => {
          const where = `${basename(path)} cell ${i}`;
          const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
          assert.equal(
            errors.length,
            0,
            `${where} raised ${errors.map((e) => `${e.ename}: ${e.evalue}`).join("; ")}`,
          );
          const produced = mimeTypes(cell);
          for (const mime of cell.metadata.mirasol?.expect ?? []) {
            assert.ok(
              produced.has(mime),
              `${where} should show ${mime}, showed [${[...produced].join(", ")}]`,
            );
          }
          for (const text of cell.metadata.mirasol?.expectText ?? []) {
            assert.ok(
              cellText(cell).includes(text),
              `${where} should print "${text}", printed:\n${cellText(cell)}`,
            );
          }
          for (const mime of mimeTypes(committed.cells[i])) {
            if (RICH.includes(mime)) {
              assert.ok(produced.has(mime), `${where} showed ${mime} when committed, not now`);
            }
          }
        });
      });
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
