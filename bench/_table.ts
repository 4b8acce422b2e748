/**
 * Aligned Markdown tables for the benchmark reports, and the number formats they use. A table is
 * plain data (header + rows of strings) so the same rows can go to the terminal and the README.
 */

export type Align = "left" | "right";

export type Table = {
  readonly title?: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Per column; default: left for the first column, right for the others (numbers). */
  readonly align?: readonly Align[];
  /** Lines printed under the table (what was measured, how). */
  readonly notes?: readonly string[];
};

export class TableError extends Error {
  override readonly name = "TableError";
}

const pad = (s: string, width: number, align: Align) =>
  align === "left" ? s.padEnd(width) : s.padStart(width);

/** The table as Markdown whose pipes line up in a monospace font. */
export function markdownTable(t: Table): string {
  const cols = t.header.length;
  t.rows.forEach((r, i) => {
    if (r.length !== cols) {
      throw new TableError(
        `Cannot format table row ${i}: expected ${cols} cells as in the header, got ${r.length}`,
      );
    }
  });
  const align = t.align ?? t.header.map((_, i) => (i === 0 ? "left" : "right"));
  if (align.length !== cols) {
    throw new TableError(`Cannot format table: expected ${cols} alignments, got ${align.length}`);
  }
  // Cells may not contain a raw pipe: it would split the column.
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const widths = t.header.map((h, c) => Math.max(3, cell(h).length, ...t.rows.map((r) => cell(r[c]).length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((s, c) => pad(cell(s), widths[c], align[c])).join(" | ")} |`;
  const rule = `|${
    widths.map((w, c) => (align[c] === "left" ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")
  }|`;
  const out = [line(t.header), rule, ...t.rows.map(line)];
  if (t.title) out.unshift(`### ${t.title}`, "");
  if (t.notes?.length) out.push("", ...t.notes);
  return out.join("\n");
}

/** A number with `digits` significant figures, without exponent for everyday magnitudes. */
export function sig(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return x.toFixed(Math.min(decimals, 6));
}

export const ms = (x: number): string => sig(x, 3);
export const mib = (bytes: number): string => sig(bytes / 2 ** 20, 3);
export const gflops = (flops: number): string => sig(flops / 1e9, 3);
/** Signed relative change of `x` against `ref`, e.g. "-31%". */
export function relChange(x: number, ref: number): string {
  const r = (x / ref - 1) * 100;
  return `${r >= 0 ? "+" : ""}${r.toFixed(0)}%`;
}
