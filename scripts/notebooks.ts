/**
 * `deno task notebooks`: executes every notebooks/*.ipynb headless on the Deno kernel with a real
 * Jupyter client (nbclient, through scripts/notebook_client.py, which works around the kernel
 * publishing some results after its idle status), in place by default so the committed notebooks
 * carry fresh outputs. Fails when any cell errors.
 *
 *   deno task notebooks                              # all notebooks, outputs written back in place
 *   deno task notebooks notebooks/01_causality.ipynb # some of them
 *   deno task notebooks --output-dir out/nb          # leave the notebooks alone, write executed copies
 *
 * The kernelspec "deno" is (re)installed with `deno jupyter --install` when it is missing or points at
 * another Deno binary than the one running this script. Kernels run with NO_COLOR=1 so committed
 * outputs carry no ANSI codes, and with their working directory in notebooks/ (imports like
 * "../mod.ts" and the deno.json import map resolve there, also with --output-dir).
 */
import { basename, join, resolve } from "node:path";

const KERNEL = "deno";
const ROOT = resolve(import.meta.dirname!, "..");

type Args = { notebooks: string[]; outputDir?: string; cellTimeoutS: number };

function parseArgs(argv: readonly string[]): Args {
  const notebooks: string[] = [];
  let outputDir: string | undefined, cellTimeoutS = 600;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--output-dir") outputDir = resolve(argv[++i]);
    else if (argv[i] === "--cell-timeout") cellTimeoutS = Number(argv[++i]);
    else if (argv[i].startsWith("--")) throw new Error(`Cannot run notebooks: unknown option ${argv[i]}`);
    else notebooks.push(resolve(argv[i]));
  }
  if (notebooks.length === 0) {
    const dir = join(ROOT, "notebooks");
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile && e.name.endsWith(".ipynb")) notebooks.push(join(dir, e.name));
    }
    notebooks.sort();
  }
  return { notebooks, outputDir, cellTimeoutS };
}

async function run(cmd: string, args: readonly string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args: [...args], env, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The first Python that has the Jupyter client packages (Debian's, then whatever is on PATH). */
async function jupyterPython(): Promise<string> {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const probe = await run(py, ["-c", "import nbformat, nbclient, jupyter_client"]).catch(() => undefined);
    if (probe?.ok) return py;
  }
  throw new Error(
    "Cannot run notebooks: no python3 with nbformat and nbclient found (install the Debian packages jupyter-nbconvert and python3-nbclient, or run scripts/setup.sh)",
  );
}

/** argv[0] of the installed "deno" kernelspec, links resolved (`deno jupyter --install` writes the
 * path it was started by, e.g. node_modules/.bin/deno), or undefined when there is none. */
async function installedKernelBinary(python: string): Promise<string | undefined> {
  const script = `import json, os
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
try:
    argv = KernelSpecManager().get_kernel_spec(${JSON.stringify(KERNEL)}).argv
    print(json.dumps([os.path.realpath(argv[0]), *argv[1:]]))
except NoSuchKernel:
    print("null")`;
  const r = await run(python, ["-c", script]);
  if (!r.ok) throw new Error(`Cannot look up the Jupyter kernelspec '${KERNEL}': ${r.stderr.trim()}`);
  const argv = JSON.parse(r.stdout.trim()) as string[] | null;
  return argv?.[0];
}

async function ensureKernel(python: string): Promise<void> {
  const deno = Deno.execPath();
  const installed = await installedKernelBinary(python);
  if (installed === deno) return;
  console.error(
    `[notebooks] installing the Deno kernel (${installed ? `was ${installed}` : "none installed"})`,
  );
  const r = await run(deno, ["jupyter", "--install", "--force"]);
  if (!r.ok) throw new Error(`Cannot install the Deno Jupyter kernel: ${(r.stderr || r.stdout).trim()}`);
}

type Cell = { cell_type: string; outputs?: { output_type: string; ename?: string; evalue?: string }[] };

/** Error outputs left in an executed notebook (a belt to nbconvert's own exit status). */
async function errorOutputs(path: string): Promise<string[]> {
  const nb = JSON.parse(await Deno.readTextFile(path)) as { cells: Cell[] };
  return nb.cells.flatMap((c, i) =>
    (c.outputs ?? []).filter((o) => o.output_type === "error").map((o) =>
      `cell ${i}: ${o.ename}: ${o.evalue}`
    )
  );
}

async function execute(
  python: string,
  notebook: string,
  args: Args,
): Promise<{ ok: boolean; seconds: number; detail: string }> {
  const started = performance.now();
  const r = await run(python, [
    join(ROOT, "scripts", "notebook_client.py"),
    "--kernel",
    KERNEL,
    "--timeout",
    String(args.cellTimeoutS),
    ...(args.outputDir ? ["--output-dir", args.outputDir] : []),
    notebook,
  ], { NO_COLOR: "1" });
  const seconds = (performance.now() - started) / 1000;
  const written = args.outputDir ? join(args.outputDir, basename(notebook)) : notebook;
  const errors = r.ok ? await errorOutputs(written) : [];
  const ok = r.ok && errors.length === 0;
  const detail = !r.ok
    ? (r.stderr || r.stdout).split("\n").filter((l) => l.trim()).slice(-30).join("\n")
    : errors.join("\n");
  return { ok, seconds, detail };
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const python = await jupyterPython();
  await ensureKernel(python);
  if (args.outputDir) await Deno.mkdir(args.outputDir, { recursive: true });
  let failed = 0;
  for (const notebook of args.notebooks) {
    const r = await execute(python, notebook, args);
    console.log(`${r.ok ? "ok  " : "FAIL"} ${basename(notebook)} ${r.seconds.toFixed(1)} s`);
    if (!r.ok) {
      failed++;
      console.log(r.detail.replace(/^/gm, "     "));
    }
  }
  console.log(`${args.notebooks.length - failed} notebooks ran, ${failed} failed`);
  if (failed > 0) Deno.exit(1);
}
