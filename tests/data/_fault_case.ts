/** What the fault-table rows share: the row type and fixture helpers (see fault_table.ts). */
import { Effect } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import { join } from "node:path";

export type FaultCase = {
  readonly name: string;
  readonly kind:
    | "media"
    | "probe"
    | "annotation"
    | "path"
    | "tokenizer file"
    | "tokenizer use"
    | "options"
    | "writer";
  readonly run: () => Effect.Effect<unknown, unknown, ChildProcessSpawner.ChildProcessSpawner>;
  readonly tag: string;
  readonly message: RegExp;
  /** a malformed tokenizer file the reference library must refuse too (loading, or encoding `text`) */
  readonly reference?: { readonly kind: "hf" | "sp"; readonly file: string; readonly text: string };
};
export function ffmpeg(dir: string, name: string, args: string[]): string {
  const out = new Deno.Command("ffmpeg", { args: ["-v", "error", "-y", ...args, join(dir, name)] })
    .outputSync();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return join(dir, name);
}
export const truncated = (dir: string, from: string, name: string) => {
  const bytes = Deno.readFileSync(from);
  Deno.writeFileSync(join(dir, name), bytes.subarray(0, bytes.length >> 1));
  return join(dir, name);
};
export const write = (dir: string, name: string, text: string | Uint8Array) => {
  if (typeof text === "string") Deno.writeTextFileSync(join(dir, name), text);
  else Deno.writeFileSync(join(dir, name), text);
  return join(dir, name);
};
/** A sync call that throws, as an Effect failing with what it threw. */
export const thrown = (f: () => unknown) => Effect.try({ try: f, catch: (e) => e });
