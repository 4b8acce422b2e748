/**
 * showParams: a parameter tree as collapsible HTML (<details> per subtree) with each subtree's
 * parameter count and share, and each leaf's shape and dtype. Leaves are tensors or {shape, dtype}
 * records (as from `paramShapes`), so a 3B-parameter model can be inspected without allocating it.
 * The walk is written here because viz imports nothing of the library but formats/.
 */
import { type Displayable, extensionOf, JUPYTER_DISPLAY, unsupportedExtension } from "./display.ts";
import { VizInputError } from "./errors.ts";
import { formatCount } from "./number_format.ts";
import { escapeXml } from "./svg.ts";

export type ParamLeaf = { readonly shape: readonly number[]; readonly dtype?: string };
export type ParamTree = ParamLeaf | readonly ParamTree[] | { readonly [name: string]: ParamTree };

/** One subtree: `path` is the slash-joined param path ("video_encoder/blocks/3"). */
export type ParamNode = {
  readonly name: string;
  readonly path: string;
  readonly count: number;
  readonly tensors: number;
  readonly shape?: readonly number[];
  readonly dtype?: string;
  readonly children: readonly ParamNode[];
};

export type ParamsView = Displayable & {
  readonly html: string;
  readonly text: string;
  readonly root: ParamNode;
  readonly total: number;
};

const WHAT = "show params";

function isLeaf(x: unknown): x is ParamLeaf {
  return typeof x === "object" && x !== null && !Array.isArray(x) && Array.isArray((x as ParamLeaf).shape) &&
    (x as ParamLeaf).shape.every((d) => Number.isInteger(d) && d >= 0);
}

/** Walks `tree` into ParamNodes, children in the tree's own order. */
export function paramNodes(tree: ParamTree, name = "params", path = ""): ParamNode {
  if (isLeaf(tree)) {
    const count = tree.shape.reduce((a, b) => a * b, 1);
    return {
      name,
      path,
      count,
      tensors: 1,
      shape: [...tree.shape],
      dtype: tree.dtype ?? "float32",
      children: [],
    };
  }
  if (typeof tree !== "object" || tree === null) {
    throw new VizInputError(
      WHAT,
      `expected a tensor, {shape, dtype}, array or record at '${path || "(root)"}', got ${tree}`,
    );
  }
  const entries: [string, ParamTree][] = Array.isArray(tree)
    ? tree.map((child, i) => [String(i), child])
    : Object.entries(tree as Record<string, ParamTree>);
  const children = entries.map(([key, child]) => paramNodes(child, key, path ? `${path}/${key}` : key));
  return {
    name,
    path,
    count: children.reduce((n, c) => n + c.count, 0),
    tensors: children.reduce((n, c) => n + c.tensors, 0),
    children,
  };
}

function share(count: number, total: number): string {
  return total === 0 ? "0%" : `${Number(((100 * count) / total).toPrecision(3))}%`;
}

function bar(count: number, total: number): string {
  const w = total === 0 ? 0 : Math.max(1, Math.round((60 * count) / total));
  return `<span style="display:inline-block;width:${w}px;height:8px;background:#6baed6;margin:0 6px"></span>`;
}

function nodeHtml(node: ParamNode, total: number, depth: number): string {
  const stats = `${formatCount(node.count)} (${share(node.count, total)})`;
  const name = `<span style="font-weight:600">${escapeXml(node.name)}</span>`;
  if (node.shape) {
    return `<div class="leaf" data-path="${escapeXml(node.path)}" style="margin-left:1.1em">${name} ` +
      `<span style="color:#555">[${node.shape.join(", ")}] ${escapeXml(node.dtype ?? "")}</span> ${
        bar(node.count, total)
      }${stats}</div>`;
  }
  const inner = node.children.map((c) => nodeHtml(c, total, depth + 1)).join("");
  return `<details class="subtree" data-path="${escapeXml(node.path)}"${
    depth === 0 ? ` open=""` : ""
  } style="margin-left:${depth === 0 ? 0 : 1.1}em"><summary>${name} ${
    bar(node.count, total)
  }${stats} · ${node.tensors} tensor${node.tensors === 1 ? "" : "s"}</summary>${inner}</details>`;
}

function nodeText(node: ParamNode, total: number, depth: number, maxDepth: number): string[] {
  const shape = node.shape ? ` [${node.shape.join(", ")}] ${node.dtype}` : "";
  const line = `${"  ".repeat(depth)}${node.name}${shape}  ${formatCount(node.count)} (${
    share(node.count, total)
  })`;
  if (depth >= maxDepth) return [line];
  return [line, ...node.children.flatMap((c) => nodeText(c, total, depth + 1, maxDepth))];
}

/**
 * Shows a parameter tree. `toFile` writes .html (the tree), .txt (every subtree and leaf) or .json
 * (the ParamNode tree).
 */
export function showParams(params: ParamTree, opts: { readonly name?: string } = {}): ParamsView {
  const root = paramNodes(params, opts.name ?? "params");
  const html =
    `<div class="mirasol-params" style="font-family:ui-monospace,monospace;font-size:12px;line-height:1.5">${
      nodeHtml(root, root.count, 0)
    }</div>`;
  const text = nodeText(root, root.count, 0, 2).join("\n");
  return {
    html,
    text,
    root,
    total: root.count,
    [JUPYTER_DISPLAY]: () => ({ "text/html": html, "text/plain": text }),
    toFile: async (path) => {
      switch (extensionOf(path)) {
        case "html":
          return await Deno.writeTextFile(path, `<!doctype html><meta charset="utf-8">${html}\n`);
        case "txt":
          return await Deno.writeTextFile(path, nodeText(root, root.count, 0, Infinity).join("\n") + "\n");
        case "json":
          return await Deno.writeTextFile(path, JSON.stringify(root, null, 1) + "\n");
        default:
          throw unsupportedExtension(path, ["html", "txt", "json"]);
      }
    },
  };
}
