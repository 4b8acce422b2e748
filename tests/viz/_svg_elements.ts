/**
 * Reads back the elements of an SVG produced by viz (attributes always double-quoted, `<` and `>`
 * escaped in values) without a Python round trip, for properties with many runs. Well-formedness
 * itself is checked by Python's XML parser in svg_wellformed_test.ts.
 */
export type Element = { readonly tag: string; readonly attrs: Readonly<Record<string, string>> };

export function elements(svg: string, tag?: string): Element[] {
  const out: Element[] = [];
  for (const m of svg.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"]*")*)\s*\/?>/g)) {
    if (tag && m[1] !== tag) continue;
    const attrs: Record<string, string> = {};
    for (const a of m[2].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push({ tag: m[1], attrs });
  }
  return out;
}

export const withClass = (els: readonly Element[], cls: string) =>
  els.filter((e) => (e.attrs.class ?? "").split(" ").includes(cls));

export const n = (e: Element, attr: string): number => {
  const v = Number(e.attrs[attr]);
  if (!Number.isFinite(v)) throw new Error(`<${e.tag}> has no numeric ${attr}: ${JSON.stringify(e.attrs)}`);
  return v;
};

/** Colours the plot cells that the <rect>s in `<g class="cells">` cover, as a rows x cols grid of fills. */
export function rasterizeCells(svg: string, rows: number, cols: number): string[][] {
  const frame = withClass(elements(svg, "rect"), "plot-frame")[0];
  const x0 = n(frame, "x"), y0 = n(frame, "y"), cw = n(frame, "width") / cols, ch = n(frame, "height") / rows;
  const grid = Array.from({ length: rows }, () => Array.from({ length: cols }, () => "#ffffff"));
  const cells = svg.slice(
    svg.indexOf('<g class="cells">'),
    svg.indexOf("</g>", svg.indexOf('<g class="cells">')),
  );
  for (const r of elements(cells, "rect")) {
    const c0 = Math.round((n(r, "x") - x0) / cw), c1 = Math.round((n(r, "x") + n(r, "width") - x0) / cw);
    const row0 = Math.round((n(r, "y") - y0) / ch), row1 = Math.round((n(r, "y") + n(r, "height") - y0) / ch);
    for (let i = row0; i < row1; i++) for (let j = c0; j < c1; j++) grid[i][j] = r.attrs.fill;
  }
  return grid;
}
