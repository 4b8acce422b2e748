/**
 * `./run jupyter` (scripts/jupyter.sh) without opening anything (`--no-open`): JupyterLab ends up in
 * .venv, the "deno" kernelspec starts this project's Deno, and a second run installs nothing. No
 * server is started here. Skipped, saying why, without a .venv (scripts/setup.sh makes it).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setBackend } from "../transforms/backend.ts";

await setBackend("cpu"); // nothing is computed here

const ROOT = join(import.meta.dirname!, "..");
const VENV_PYTHON = join(ROOT, ".venv", "bin", "python");
const hasVenv = existsSync(VENV_PYTHON);
if (!hasVenv) console.log("skipping scripts/jupyter.sh: no .venv (run scripts/setup.sh)");

async function jupyterSh(...args: string[]) {
  const r = await new Deno.Command("bash", {
    args: [join(ROOT, "scripts", "jupyter.sh"), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

Deno.test({
  name:
    "scripts/jupyter.sh --no-open installs JupyterLab into .venv and registers this Deno as the kernel; run again, it installs nothing",
  ignore: !hasVenv,
  fn: async () => {
    const first = await jupyterSh("--no-open");
    assert.equal(first.code, 0, first.stderr);
    const deno = Deno.execPath();
    assert.equal(first.stdout.trim(), `ready: .venv/bin/jupyter lab notebooks/ (kernel deno -> ${deno})`);

    const second = await jupyterSh("--no-open");
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /\[jupyter\] jupyterlab [0-9.]+ already in \.venv/);
    assert.ok(second.stderr.includes(`[jupyter] Deno kernel already registered: ${deno}`), second.stderr);
    assert.doesNotMatch(second.stderr, /installing|registering/);

    const lab = await new Deno.Command(join(ROOT, ".venv", "bin", "jupyter-lab"), { args: ["--version"] })
      .output();
    assert.ok(lab.success, "jupyter-lab --version failed");
    const spec = await new Deno.Command(VENV_PYTHON, {
      args: [
        "-c",
        "import os; from jupyter_client.kernelspec import KernelSpecManager as K; print(os.path.realpath(K().get_kernel_spec('deno').argv[0]))",
      ],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(spec.stdout).trim(), deno, "the kernelspec .venv's Jupyter finds");
  },
});

Deno.test("scripts/jupyter.sh refuses an unknown option before installing anything", async () => {
  const r = await jupyterSh("--bogus");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Cannot start jupyter: unknown option --bogus/);
  assert.doesNotMatch(r.stderr, /\[jupyter\]/);
});
