/**
 * `deno task test:unit`: the tests that need neither Python/TensorFlow, ffmpeg nor Jupyter, for the
 * inner loop. Which tests those are is decided from the test files themselves, so a new test lands on
 * the right side without a list to keep: a test file is left out when it, or a test helper it imports
 * (under tests/), starts Python, ffmpeg or a notebook kernel.
 *
 *   deno run -A scripts/test_unit.ts [--list] [deno test flags...]
 */
import { folderOf, importGraph } from "./import_graph.ts";

/** What a test file does that needs a tool beyond Deno (its own source, not the library's). */
const NEEDS_TOOLS =
  /\.venv\/bin\/python|\bPYTHON\b|"python3?"|ffmpeg|ffprobe|decodeClips?\(|\bsynthetic\(|nbconvert|jupyter|notebooks\.ts/;

export async function unitTests(root: string): Promise<{ unit: string[]; external: string[] }> {
  const g = await importGraph(root);
  const tests = g.files.filter((f) => folderOf(f) === "tests");
  const direct = new Map<string, boolean>();
  for (const f of tests) direct.set(f, NEEDS_TOOLS.test(await Deno.readTextFile(`${root}/${f}`)));
  const memo = new Map<string, boolean>();
  const needs = (f: string, seen = new Set<string>()): boolean => {
    if (memo.has(f)) return memo.get(f)!;
    if (seen.has(f)) return false;
    seen.add(f);
    const helpers = (g.edges.get(f) ?? []).filter((t) => folderOf(t) === "tests");
    const v = direct.get(f)! || helpers.some((h) => needs(h, seen));
    memo.set(f, v);
    return v;
  };
  const files = tests.filter((f) => f.endsWith("_test.ts")).sort();
  return { unit: files.filter((f) => !needs(f)), external: files.filter((f) => needs(f)) };
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const { unit, external } = await unitTests(root);
  if (Deno.args.includes("--list")) {
    console.log(
      `unit (${unit.length}):\n  ${
        unit.join("\n  ")
      }\nneeding Python, ffmpeg or Jupyter (${external.length}):\n  ${external.join("\n  ")}`,
    );
    Deno.exit(0);
  }
  const deno = Deno.execPath();
  const run = new Deno.Command(deno, { args: ["test", "-A", "--parallel", ...Deno.args, ...unit], cwd: root })
    .spawn();
  Deno.exit((await run.status).code);
}
