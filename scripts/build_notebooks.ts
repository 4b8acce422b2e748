/**
 * `deno run -A scripts/build_notebooks.ts`: writes notebooks/01..04 (nbformat 4) from the cell sources
 * in scripts/notebook_cells/, so that every cell is reviewed as TypeScript in a diff, not as JSON.
 * A cell whose source did not change keeps its committed outputs; a changed cell loses them until
 * `deno task notebooks <file>` executes the notebook again (which commits the outputs with it).
 *
 *   deno run -A scripts/build_notebooks.ts           # (re)write every notebook
 *   deno run -A scripts/build_notebooks.ts --check   # exit 1 if a committed notebook's cells differ
 *
 * Cell metadata `mirasol.expect` (MIME types) and `mirasol.expectText` (plain text, ANSI stripped)
 * say what the executed cell must show; tests/notebooks_test.ts checks them on a fresh run.
 */
import { join, resolve } from "node:path";
import { causality } from "./notebook_cells/01_causality.ts";
import { modelTour } from "./notebook_cells/02_model_tour.ts";
import { trainAndAsk } from "./notebook_cells/03_train_and_ask.ts";
import { exportToTensorflow } from "./notebook_cells/04_export_to_tensorflow.ts";
import type { CellSpec, NotebookSpec } from "./notebook_cells/cell.ts";

export type { CellSpec, NotebookSpec };

export const NOTEBOOKS: readonly NotebookSpec[] = [causality, modelTour, trainAndAsk, exportToTensorflow];

const ROOT = resolve(import.meta.dirname!, "..");

type Output = Record<string, unknown>;
type NbCell = {
  cell_type: "markdown" | "code";
  id: string;
  metadata: Record<string, unknown>;
  source: string[];
  outputs?: Output[];
  execution_count?: number | null;
};
export type Notebook = {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: 4;
  nbformat_minor: number;
};

const METADATA = {
  kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
  language_info: {
    codemirror_mode: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    name: "typescript",
    nbconvert_exporter: "script",
    pygments_lexer: "typescript",
  },
};

/** Jupyter's line list: every line but the last keeps its "\n". */
export function sourceLines(source: string): string[] {
  return source.split(/(?<=\n)/);
}

export const joinSource = (s: string | readonly string[]) => (typeof s === "string" ? s : s.join(""));

function cellOf(spec: CellSpec, id: string, previous: NbCell | undefined): NbCell {
  const source = sourceLines(spec.source);
  if (spec.kind === "markdown") return { cell_type: "markdown", id, metadata: {}, source };
  const checks = {
    ...(spec.expect ? { expect: spec.expect } : {}),
    ...(spec.expectText ? { expectText: spec.expectText } : {}),
  };
  const metadata = Object.keys(checks).length > 0 ? { mirasol: checks } : {};
  const unchanged = previous?.cell_type === "code" && joinSource(previous.source) === spec.source &&
    JSON.stringify(previous.metadata ?? {}) === JSON.stringify(metadata);
  return {
    cell_type: "code",
    id,
    metadata,
    source,
    execution_count: unchanged ? previous.execution_count ?? null : null,
    outputs: unchanged ? previous.outputs ?? [] : [],
  };
}

/** The notebook for `spec`, keeping the outputs of `previous`'s cells whose source is unchanged. */
export function buildNotebook(spec: NotebookSpec, previous?: Notebook): Notebook {
  const stem = spec.file.replace(/\.ipynb$/, "").slice(0, 2);
  const byId = new Map((previous?.cells ?? []).map((c) => [c.id, c]));
  const cells = spec.cells.map((c, i) => {
    const id = `nb${stem}-${String(i).padStart(2, "0")}`;
    return cellOf(c, id, byId.get(id));
  });
  const language = (previous?.metadata?.language_info ?? {}) as Record<string, unknown>;
  return {
    cells,
    metadata: { ...METADATA, language_info: { ...METADATA.language_info, ...language } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Cells of the committed notebook that differ from the generator (kind, source or checks). */
export function differences(spec: NotebookSpec, committed: Notebook): string[] {
  const built = buildNotebook(spec);
  const out: string[] = [];
  if (committed.cells.length !== built.cells.length) {
    out.push(`${spec.file}: ${committed.cells.length} cells committed, ${built.cells.length} generated`);
  }
  built.cells.forEach((b, i) => {
    const c = committed.cells[i];
    if (!c) return;
    if (c.cell_type !== b.cell_type || joinSource(c.source) !== joinSource(b.source)) {
      out.push(`${spec.file} cell ${i}: source differs from scripts/notebook_cells/`);
    } else if (JSON.stringify(c.metadata?.mirasol ?? null) !== JSON.stringify(b.metadata.mirasol ?? null)) {
      out.push(`${spec.file} cell ${i}: mirasol checks differ from scripts/notebook_cells/`);
    }
  });
  return out;
}

async function readNotebook(path: string): Promise<Notebook | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Notebook;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let problems = 0;
  for (const spec of NOTEBOOKS) {
    const path = join(ROOT, "notebooks", spec.file);
    const previous = await readNotebook(path);
    if (check) {
      const diff = previous ? differences(spec, previous) : [`${spec.file}: not written`];
      diff.forEach((d) => console.log(d));
      problems += diff.length;
      continue;
    }
    const nb = buildNotebook(spec, previous);
    await Deno.writeTextFile(path, JSON.stringify(nb, null, 1) + "\n");
    const stale = nb.cells.filter((c) => c.cell_type === "code" && c.outputs?.length === 0).length;
    console.log(
      `wrote notebooks/${spec.file}: ${nb.cells.length} cells, ${stale} code cells without outputs`,
    );
  }
  if (check) {
    console.log(problems === 0 ? "notebooks match their generator" : `${problems} difference(s)`);
    if (problems > 0) Deno.exit(1);
  }
}
