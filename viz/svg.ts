/**
 * SVG text built from data: escaping, elements with attributes, the document wrapper. Numbers are
 * written with at most two decimals so that the same data always gives byte-identical SVG (notebook
 * outputs are committed, and diffs should only show real changes).
 */

export type Attrs = Readonly<Record<string, string | number | undefined>>;

export const FONT = "font-family:ui-sans-serif,system-ui,sans-serif;font-size:11px";

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** 12.3456 -> "12.35", 3 -> "3", -0 -> "0". */
export function num(x: number): string {
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

export function attrs(a: Attrs): string {
  let out = "";
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined) continue;
    out += ` ${k}="${typeof v === "number" ? num(v) : escapeXml(v)}"`;
  }
  return out;
}

/** `<name a="1">children</name>`, or self-closing without children. */
export function el(name: string, a: Attrs, children?: string | readonly string[]): string {
  const inner = Array.isArray(children) ? children.join("") : children;
  return inner === undefined || inner === ""
    ? `<${name}${attrs(a)}/>`
    : `<${name}${attrs(a)}>${inner}</${name}>`;
}

export function text(x: number, y: number, content: string, a: Attrs = {}): string {
  return el("text", { x, y, ...a }, escapeXml(content));
}

/** A standalone SVG document of the given pixel size; `label` becomes its <title> (read by screen readers). */
export function svgDocument(width: number, height: number, body: readonly string[], label: string): string {
  return el(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width: Math.ceil(width),
      height: Math.ceil(height),
      viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
      style: FONT,
    },
    [
      el("title", {}, escapeXml(label)),
      el("rect", { width: "100%", height: "100%", fill: "white" }),
      ...body,
    ],
  );
}

/** A raster embedded as a PNG data URI, scaled to (width, height) without smoothing so cells stay crisp. */
export function embeddedImage(
  href: string,
  x: number,
  y: number,
  width: number,
  height: number,
  a: Attrs = {},
): string {
  return el("image", {
    x,
    y,
    width,
    height,
    href,
    preserveAspectRatio: "none",
    style: "image-rendering:pixelated;image-rendering:crisp-edges",
    ...a,
  });
}
