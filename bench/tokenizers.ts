/**
 * Tokenizer speed: encode time of 2, 8 and 32 KB of the paper's text for each kind of tokenizer,
 * next to the reference libraries (sentencepiece, Hugging Face tokenizers) on the same text, and the
 * load time of byte-level BPE tokenizer.json files and SentencePiece models with 150K and 1M entries.
 * A linear encoder takes about 16x longer for 32 KB than for 2 KB.
 *
 * usage: deno run -A bench/tokenizers.ts [--cap-s 60] [--corpus FILE]
 * (a size slower than the cap skips the larger ones; the corpus defaults to the paper's text)
 */
import { Effect } from "effect";
import { loadHfTokenizer } from "../data/tokenizer/hf_tokenizer.ts";
import { loadSentencePiece } from "../data/tokenizer/sentencepiece.ts";
import type { Tokenizer } from "../data/tokenizer/tokenizer.ts";
import { bigByteLevelBpe, bigSentencePieceBpe } from "../tests/data/_big_vocab.ts";
import { markdownTable, type Table } from "./_table.ts";

const SIZES = [2048, 8192, 32768];
const CORPUS = "/work/shared/paper/mirasol3b.txt";

function medianMs(f: () => unknown, runs: number): number {
  if (runs > 1) f(); // warm-up: the first call compiles
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const fmt = (ms: number | undefined) =>
  ms === undefined ? "-" : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`;

export async function tokenizerTables(
  capS = 60,
  corpusPath = CORPUS,
  show: (t: Table) => void = () => {},
): Promise<Table[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench_tokenizers_" });
  try {
    const corpus = await Deno.readTextFile(corpusPath);
    await Deno.writeTextFile(`${dir}/corpus.txt`, corpus);
    const py = await new Deno.Command(".venv/bin/python", {
      args: [
        new URL("./tokenizer_models.py", import.meta.url).pathname,
        `${dir}/corpus.txt`,
        dir,
        JSON.stringify(SIZES),
      ],
      stderr: "piped",
    }).output();
    if (!py.success) throw new Error(`tokenizer_models.py failed:\n${new TextDecoder().decode(py.stderr)}`);
    const reference: Record<string, { file: string; ms: Record<string, number> }> = JSON.parse(
      await Deno.readTextFile(`${dir}/reference.json`),
    );
    const bytes = new TextEncoder().encode(corpus);
    const texts = SIZES.map((n) => new TextDecoder().decode(bytes.subarray(0, n)).replace(/\uFFFD+$/, ""));
    const rows: string[][] = [];
    for (const [name, ref] of Object.entries(reference)) {
      const tok: Tokenizer = await Effect.runPromise(
        name.startsWith("sp_") ? loadSentencePiece(ref.file) : loadHfTokenizer(ref.file),
      );
      const ours: (number | undefined)[] = [];
      for (const t of texts) {
        if (ours.length > 0 && (ours[ours.length - 1] ?? Infinity) > capS * 1000) ours.push(undefined);
        else ours.push(medianMs(() => tok.encode(t), (ours.at(-1) ?? 0) > 2000 ? 1 : 3));
      }
      const ratio = ours[2] !== undefined && ours[0]! > 0 ? `${(ours[2] / ours[0]!).toFixed(1)}x` : "-";
      rows.push([name, ...ours.map(fmt), ratio, ...SIZES.map((n) => fmt(ref.ms[String(n)]))]);
    }
    const encodeTable: Table = {
      title: "Encode time (median of 3 after a warm-up; 1 run when slower than 2 s)",
      header: [
        "tokenizer",
        "2 KB",
        "8 KB",
        "32 KB",
        "32 KB / 2 KB",
        "reference 2 KB",
        "reference 8 KB",
        "reference 32 KB",
      ],
      rows,
      notes: [
        "Text: the first 2/8/32 KB of the Mirasol3B paper; models: vocabulary 4000 trained on it.",
        "Reference: sentencepiece 0.2.2 / tokenizers 0.23.2 (Rust) from Python, same text.",
      ],
    };
    show(encodeTable);
    const loadRows: string[][] = [];
    for (const size of [150_000, 1_000_000]) {
      const json = `${dir}/bpe_${size}.json`, model = `${dir}/sp_${size}.model`;
      await Deno.writeTextFile(json, bigByteLevelBpe(size));
      await Deno.writeFile(model, bigSentencePieceBpe(size));
      for (
        const [kind, load] of [["tokenizer.json byte-level BPE", () => loadHfTokenizer(json)], [
          "SentencePiece BPE .model",
          () => loadSentencePiece(model),
        ]] as const
      ) {
        const t0 = performance.now();
        const r = await Effect.runPromise(Effect.result(load()));
        const ms = performance.now() - t0;
        loadRows.push([
          kind,
          size.toLocaleString("en"),
          r._tag === "Success" ? fmt(ms) : `fails: ${r.failure.message.replace(/^.*?: /, "").slice(0, 70)}`,
        ]);
      }
    }
    const loadTable: Table = {
      title: "Load time of large vocabularies (read + parse + build, one run)",
      header: ["file", "entries", "load"],
      rows: loadRows,
      align: ["left", "right", "right"],
    };
    show(loadTable);
    return [encodeTable, loadTable];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  await tokenizerTables(
    Number(arg("--cap-s") ?? 60),
    arg("--corpus") ?? CORPUS,
    (t) => console.log(`${markdownTable(t)}\n`),
  );
}
