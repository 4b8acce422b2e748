/**
 * The notebooks keep every picture under a plain `jupyter nbconvert --to notebook --execute`, the way
 * anyone runs them (no settling client of ours, unlike scripts/notebooks.ts): each picture cell (its
 * metadata expects image/png) shows its PNG and SVG on every run. The Deno kernel used to drop an
 * output now and then (see viz/jupyter_settle.ts), so the fast notebooks run several times.
 *
 * Jupyter: .venv's (`./run jupyter` installs JupyterLab there), else the system's nbconvert (Debian's,
 * which scripts/setup.sh installs); the test is skipped, saying why, when neither is there.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { setBackend } from "../transforms/backend.ts";

await setBackend("cpu"); // the notebooks pick their own backends; this file computes nothing

const ROOT = join(import.meta.dirname!, "..");
const PNG = "image/png", SVG = "image/svg+xml";
/**
 * Runs per notebook with pictures: three where a run takes seconds; 03 trains for about a minute, so
 * once (the whole test stays under ~2 minutes on 2 cores). 04 shows no picture and is not run here.
 */
const RUNS: Record<string, number> = {
  "00_smoke.ipynb": 3,
  "01_causality.ipynb": 3,
  "02_model_tour.ipynb": 3,
  "03_train_and_ask.ipynb": 1,
};

type Output = { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string };
type Cell = { cell_type: string; metadata: { mirasol?: { expect?: string[] } }; outputs?: Output[] };

async function ok(cmd: string, args: string[]): Promise<boolean> {
  return await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()
    .then((o) => o.success).catch(() => false);
}

/** The jupyter to run nbconvert with, or why there is none. */
async function findJupyter(): Promise<{ jupyter?: string; why: string }> {
  for (const jupyter of [join(ROOT, ".venv", "bin", "jupyter"), "/usr/bin/jupyter", "jupyter"]) {
    if (await ok(jupyter, ["nbconvert", "--version"])) return { jupyter, why: "" };
  }
  return { why: "no jupyter with nbconvert in .venv (./run jupyter) or on the system (scripts/setup.sh)" };
}

const { jupyter, why } = await findJupyter();
if (!jupyter) console.log(`skipping the plain nbconvert runs: ${why}`);

/** Points the "deno" kernelspec at this project's Deno when it names another binary or none. */
async function ensureKernel(jupyter: string): Promise<void> {
  const out = await new Deno.Command(jupyter, { args: ["kernelspec", "list", "--json"], stdout: "piped" })
    .output();
  const specs = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    kernelspecs: Record<string, { spec: { argv: string[] } }>;
  };
  const argv0 = specs.kernelspecs.deno?.spec.argv[0];
  const real = argv0 ? await Deno.realPath(argv0).catch(() => "") : "";
  if (real === Deno.execPath()) return;
  const r = await new Deno.Command(Deno.execPath(), { args: ["jupyter", "--install", "--force"] }).output();
  assert.ok(r.success, "deno jupyter --install failed");
}

const pictureCells = (cells: readonly Cell[]) =>
  cells.flatMap((c, i) => (c.metadata.mirasol?.expect?.includes(PNG) ? [i] : []));

Deno.test({
  name:
    "plain jupyter nbconvert --execute keeps every picture (PNG and SVG) of every notebook, run after run",
  ignore: !jupyter,
  fn: async (t) => {
    for (const e of Deno.readDirSync(join(ROOT, "notebooks"))) {
      if (!e.name.endsWith(".ipynb")) continue;
      const committed = JSON.parse(await Deno.readTextFile(join(ROOT, "notebooks", e.name))) as {
        cells: Cell[];
      };
      const pictures = pictureCells(committed.cells).length;
      assert.equal(pictures > 0, e.name in RUNS, `${e.name} has ${pictures} picture cells: list it in RUNS`);
    }
    const notebooks = Object.keys(RUNS).map((f) => join(ROOT, "notebooks", f));
    await ensureKernel(jupyter!);
    const out = await Deno.makeTempDir({ prefix: "nbconvert_" });
    try {
      for (const path of notebooks) {
        for (let run = 1; run <= RUNS[basename(path)]; run++) {
          await t.step(`${basename(path)} run ${run}`, async () => {
            const name = `${run}_${basename(path)}`;
            const r = await new Deno.Command(jupyter!, {
              args: [
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--output-dir",
                out,
                "--output",
                name,
                path,
              ],
              env: { NO_COLOR: "1" },
              stdout: "piped",
              stderr: "piped",
            }).output();
            const log = new TextDecoder().decode(r.stderr).split("\n").slice(-20).join("\n");
            assert.ok(r.success, `nbconvert failed:\n${log}`);
            const cells = (JSON.parse(await Deno.readTextFile(join(out, name))) as { cells: Cell[] }).cells;
            const lost = cells.flatMap((cell, i) => {
              const expected = cell.metadata.mirasol?.expect ?? [];
              if (!expected.includes(PNG)) return [];
              const shown = new Set((cell.outputs ?? []).flatMap((o) => Object.keys(o.data ?? {})));
              return [PNG, SVG, ...expected].filter((m) => !shown.has(m)).map((m) => `cell ${i}: no ${m}`);
            });
            assert.ok(pictureCells(cells).length > 0, "has picture cells");
            assert.deepEqual(lost, [], `pictures lost in ${basename(path)} run ${run}`);
          });
        }
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "nbconvert --to html with PNG before SVG (README's command) shows every picture of 00_smoke as an embedded PNG",
  ignore: !jupyter,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "nbconvert_html_" });
    try {
      const path = join(ROOT, "notebooks", "00_smoke.ipynb");
      const priority = ["text/html", PNG, "text/plain"].map((m) =>
        `--NbConvertBase.display_data_priority=${m}`
      );
      const r = await new Deno.Command(jupyter!, {
        args: ["nbconvert", "--to", "html", ...priority, "--output-dir", out, "--output", "smoke", path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const html = await Deno.readTextFile(join(out, "smoke.html"));
      const pictures = pictureCells((JSON.parse(await Deno.readTextFile(path)) as { cells: Cell[] }).cells);
      const embedded = html.match(/<img[^>]*src="data:image\/png;base64,[A-Za-z0-9+/=]{100,}/g) ?? [];
      assert.equal(embedded.length, pictures.length, "one embedded PNG per picture cell");
      assert.doesNotMatch(html, /data-mime-type="image\/svg\+xml"/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
