/**
 * The project's import graph: which source file imports which, the folders' one-way rule, import
 * circles, and "floors" (the longest chain of imports inside a folder: a file that imports nothing of
 * its folder is on floor 0, one that imports a floor-0 file on floor 1, ...). Few floors and no
 * circle mean a folder reads bottom-up.
 *
 *   deno run -A scripts/import_graph.ts          # a table of files and floors per folder
 *   deno run -A scripts/import_graph.ts --check  # exits 1 on any circle or import against the rule
 */

/** What each library folder may import of ours (besides itself). Tests, benches, scripts: anything. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  formats: [],
  transforms: ["formats"],
  model: ["transforms", "formats"],
  data: ["formats"],
  inference: ["model", "transforms", "formats"],
  train: ["model", "data", "transforms", "formats"],
  export: ["model", "inference", "train", "data", "transforms", "formats"],
  viz: ["formats"],
};

export type ImportGraph = {
  /** Repository-relative paths of every source file, sorted. */
  readonly files: readonly string[];
  /** file -> the project files it imports (static, re-export and dynamic imports). */
  readonly edges: ReadonlyMap<string, readonly string[]>;
};

const SKIP = new Set(["node_modules", ".venv", ".git", "out", ".cache"]);
const SPECIFIER =
  /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

async function walk(dir: string, root: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(`${root}/${dir}`)) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory && !SKIP.has(e.name)) await walk(rel, root, out);
    else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
}

/** `a/b/../c.ts` -> `a/c.ts`; null when the path leaves the repository. */
function normalize(path: string): string | null {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else if (p !== "." && p !== "") parts.push(p);
  }
  return parts.join("/");
}

/** Reads every .ts file under `root` and resolves its relative imports. */
export async function importGraph(root: string): Promise<ImportGraph> {
  const files: string[] = [];
  await walk("", root, files);
  files.sort();
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const f of files) {
    // Comment lines (JSDoc examples show imports) are not imports.
    const text = (await Deno.readTextFile(`${root}/${f}`)).split("\n").filter((l) =>
      !/^\s*(\/\/|\/?\*)/.test(l)
    )
      .join("\n");
    const dir = f.includes("/") ? f.slice(0, f.lastIndexOf("/")) : "";
    const targets = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith(".")) continue;
      const target = normalize(dir ? `${dir}/${spec}` : spec);
      if (target && known.has(target)) targets.add(target);
    }
    edges.set(f, [...targets].sort());
  }
  return { files, edges };
}

/** The top-level folder of a file ("" for a root file such as mod.ts). */
export function folderOf(file: string): string {
  return file.includes("/") ? file.slice(0, file.indexOf("/")) : "";
}

/** Imports from a library folder into a folder its rule does not allow: "from -> to". */
export function ruleViolations(g: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, tos] of g.edges) {
    const allowed = ALLOWED[folderOf(from)];
    if (!allowed) continue;
    for (const to of tos) {
      const target = folderOf(to);
      if (target !== folderOf(from) && !allowed.includes(target)) out.push(`${from} -> ${to}`);
    }
  }
  return out;
}

/** Every import circle (strongly connected component of more than one file, or a self-import). */
export function importCircles(g: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], circles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.edges.get(v) ?? []).includes(v)) circles.push(scc.sort());
    }
  };
  for (const f of g.files) if (!idx.has(f)) visit(f);
  return circles;
}

/**
 * Floor of each file of `folder`, counting only imports inside that folder. The files of one circle
 * share a floor (the circle counts as one file), so a graph with circles still has floors.
 */
export function floors(g: ImportGraph, folder: string): Map<string, number> {
  const circleOf = new Map<string, readonly string[]>();
  for (const c of importCircles(g)) for (const f of c) circleOf.set(f, c);
  const memo = new Map<string, number>();
  const floor = (f: string): number => {
    const known = memo.get(f);
    if (known !== undefined) return known;
    const members = circleOf.get(f) ?? [f];
    for (const m of members) memo.set(m, -1); // in progress: an edge back into the circle adds nothing
    const inside = members.flatMap((m) => g.edges.get(m) ?? [])
      .filter((t) => folderOf(t) === folder && !members.includes(t));
    const value = inside.length === 0 ? 0 : 1 + Math.max(...inside.map(floor));
    for (const m of members) memo.set(m, value);
    return value;
  };
  for (const f of g.files) if (folderOf(f) === folder) floor(f);
  return memo;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const g = await importGraph(root);
  const circles = importCircles(g);
  const violations = ruleViolations(g);
  const rows = Object.keys(ALLOWED).map((folder) => {
    const fl = floors(g, folder);
    const top = [...fl.entries()].sort((a, b) => b[1] - a[1])[0];
    const count = g.files.filter((f) => folderOf(f) === folder).length;
    return `| ${folder}/ | ${count} | ${top ? top[1] + 1 : 0} | ${top ? top[0] : ""} |`;
  });
  console.log("| folder | files | floors | highest file |\n|---|--:|--:|---|\n" + rows.join("\n"));
  for (const c of circles) console.log(`circle: ${c.join(" <-> ")}`);
  for (const v of violations) console.log(`against the rule: ${v}`);
  if (Deno.args.includes("--check") && (circles.length || violations.length)) Deno.exit(1);
}
