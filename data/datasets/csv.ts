/**
 * RFC 4180 CSV with a header row: quoted fields may hold commas, quotes ("") and newlines, so each
 * record remembers the line it starts on for error messages.
 */
import { Effect } from "effect";
import { BadAnnotation } from "./annotation.ts";

export type CsvRecord = { readonly line: number; readonly fields: Readonly<Record<string, string>> };

function parseRows(file: string, text: string): { line: number; cells: string[] }[] | BadAnnotation {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [], cell = "", line = 1, rowLine = 1, quoted = false, quoteLine = 0, any = false;
  const endCell = () => {
    cells.push(cell);
    cell = "";
  };
  const endRow = () => {
    endCell();
    if (any) rows.push({ line: rowLine, cells });
    cells = [];
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'; // an escaped quote
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && cell === "") {
      quoted = true;
      quoteLine = line;
      any = true;
    } else if (c === ",") {
      any = true;
      endCell();
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cell += c;
      any = true;
    }
  }
  if (quoted) return new BadAnnotation({ file, line: quoteLine, reason: "a quoted field is never closed" });
  endRow();
  return rows;
}

/** Records keyed by the header's column names; `required` columns must exist and be non-empty. */
export function parseCsv(
  file: string,
  text: string,
  required: readonly string[],
): Effect.Effect<CsvRecord[], BadAnnotation> {
  const rows = parseRows(file, text);
  if (rows instanceof BadAnnotation) return Effect.fail(rows);
  if (rows.length === 0) {
    return Effect.fail(new BadAnnotation({ file, line: 1, reason: "the file is empty (no header row)" }));
  }
  const header = rows[0].cells.map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    return Effect.fail(
      new BadAnnotation({
        file,
        line: rows[0].line,
        reason: `header lacks column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (has ${
          header.join(", ")
        })`,
      }),
    );
  }
  const records: CsvRecord[] = [];
  for (const row of rows.slice(1)) {
    if (row.cells.length !== header.length) {
      return Effect.fail(
        new BadAnnotation({
          file,
          line: row.line,
          reason: `expected ${header.length} fields as in the header, got ${row.cells.length}`,
        }),
      );
    }
    const fields = Object.fromEntries(header.map((h, k) => [h, row.cells[k].trim()]));
    const empty = required.find((c) => fields[c] === "");
    if (empty !== undefined) {
      return Effect.fail(new BadAnnotation({ file, line: row.line, reason: `column "${empty}" is empty` }));
    }
    records.push({ line: row.line, fields });
  }
  return Effect.succeed(records);
}
