/**
 * `deno task protos [OUT]`: regenerates the vendored schemas and their TypeScript (default OUT:
 * formats/protos). Three steps, none needing protoc:
 * 1. vendor_protos.py prints each .proto from the descriptor inside the TensorFlow 2.21.0 and
 *    sentencepiece wheels (.venv) and checks that it compiles back to the same descriptor;
 * 2. `buf generate` (npm @bufbuild/buf) runs `protoc-gen-es` (npm @bufbuild/protoc-gen-es) on them;
 * 3. vendor_op_defs.py writes the OpDefs of the ops an export may emit, from the wheel's op
 *    registry (tensorflow/op_defs.ts);
 * 4. the generated files are marked lint-free (they are not ours to lint) and `deno fmt`ed, so the
 *    committed tree is exactly what this writes: tests/formats/protos_test.ts regenerates into a
 *    temp folder and compares.
 */
const root = new URL("../../", import.meta.url).pathname;
const out = Deno.args[0] ?? "formats/protos";
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, cwd: root, stdout: "inherit", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`Cannot regenerate protos: ${cmd} ${args.join(" ")} exited with ${r.code}`);
}

async function generatedFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) found.push(...await generatedFiles(path));
    else if (e.name.endsWith("_pb.ts")) found.push(path);
  }
  return found.sort();
}

const dir = out.startsWith("/") ? out : `${root}${out}`;
for (const f of await generatedFiles(dir).catch(() => [])) await Deno.remove(f);
await run(`${root}.venv/bin/python`, [`${root}scripts/protos/vendor_protos.py`, dir, bin("buf")]);
const template = {
  version: "v2",
  plugins: [{ local: bin("protoc-gen-es"), out: dir, opt: ["target=ts", "import_extension=ts"] }],
};
await run(bin("buf"), ["generate", dir, "--template", JSON.stringify(template)]);
const opDefs = `${dir}/tensorflow/op_defs.ts`;
await run(`${root}.venv/bin/python`, [`${root}scripts/protos/vendor_op_defs.py`, opDefs]);
const files = await generatedFiles(dir);
for (const f of files) {
  const text = await Deno.readTextFile(f);
  await Deno.writeTextFile(
    f,
    text.replace("/* eslint-disable */\n", "/* eslint-disable */\n// deno-lint-ignore-file\n"),
  );
}
await run(bin("deno"), ["fmt", "--quiet", "--config", `${root}deno.json`, ...files, opDefs]);
console.log(`generated ${files.length} TypeScript files in ${out}`);
