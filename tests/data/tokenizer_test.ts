import assert from "node:assert/strict";
import fc from "fast-check";
import { Effect, Exit } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { byteTokenizer } from "../../data/tokenizer/byte.ts";
import { loadHfTokenizer } from "../../data/tokenizer/hf_tokenizer.ts";
import { loadSentencePiece } from "../../data/tokenizer/sentencepiece.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import { unicodeText } from "./_unicode_text.ts";
import { bigByteLevelBpe, bigSentencePieceBpe } from "./_big_vocab.ts";

await setBackend("wasm");

// Strings the references must agree on: fixed hard cases plus a seeded sample of fragment soups
// (unicode, whitespace runs, emoji with modifiers/ZWJ, compatibility forms, combining marks).
const FRAGMENTS = [
  "the",
  "quick",
  "Café",
  "naïve",
  "résumé",
  "東京で猫",
  "😀",
  "🐈‍⬛",
  "👍🏽",
  "ＡＢＣ",
  "①",
  "12345",
  "3.14",
  "it's",
  "they're",
  " ",
  "  ",
  "   ",
  "\t",
  "\n",
  "\r\n",
  "e\u0301",
  "ﬁ",
  "Ⅻ",
  "<video>",
  "<s>",
  "[SEP]",
  "what colour",
  "MIRASOL",
  "mirasol3b",
  "?",
  "!!",
  "—",
  "Ω",
  "ß",
  "İ",
  "\u00a0",
  "\u200b",
  "Q:",
  "A:",
  "don't",
];
// Random characters come from blocks assigned long ago: the Rust crates and V8 carry different
// Unicode versions, and they disagree on the categories of recently added characters.
const OLD_BLOCKS: [number, number][] = [
  [0x20, 0x7e], // ASCII
  [0xa0, 0x17f], // Latin-1, Latin Extended-A
  [0x300, 0x36f], // combining diacritics
  [0x391, 0x3c9], // Greek
  [0x410, 0x44f], // Cyrillic
  [0x5d0, 0x5ea], // Hebrew letters
  [0x621, 0x63a], // Arabic letters
  [0x905, 0x939], // Devanagari letters
  [0x2010, 0x2027], // general punctuation
  [0x2190, 0x21ff], // arrows
  [0x2600, 0x26ff], // miscellaneous symbols
  [0x3041, 0x3096], // Hiragana
  [0x30a1, 0x30fa], // Katakana
  [0x4e00, 0x4fff], // CJK ideographs
  [0xac00, 0xacff], // Hangul syllables
  [0xff01, 0xff5e], // fullwidth forms
  [0x1f300, 0x1f320], // pictographs
  [0x1f600, 0x1f64f], // emoticons
];
const oldChar = fc.constantFrom(...OLD_BLOCKS).chain(([a, b]) => fc.integer({ min: a, max: b }))
  .map((cp) => String.fromCodePoint(cp));
const fragment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 2, arbitrary: fc.array(oldChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join("")) },
);
const STRINGS = [
  "",
  " ",
  "hello world",
  "  leading and trailing  ",
  "What colour was the square when the high tone played?",
  "tabs\tand   runs    of spaces\nand newlines",
  "Emoji: 😀 🎵 🐈‍⬛ 👍🏽 end.",
  "Ｆｕｌｌｗｉｄｔｈ ① ② ③",
  "unknown: ☃ ✈ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ",
  "<video> tokens <s> and [SEP] inline",
  "Mirasol sees  <video>what colour MIRASOL",
  // one very long word (no space in 60 KB): merged, split or refused as a whole by each model
  Array.from({ length: 20_000 }, (_, i) => "mirasolvideo"[i % 12] + (i % 7 === 0 ? "é" : "")).join(""),
  ...fc.sample(fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join("")), {
    numRuns: 200,
    seed: 6,
  }),
];

// Fuzzed strings: fast-check's hostile Unicode (every plane, every whitespace class, case-mapping
// special cases, byte-order marks, combining marks...), a fixed seed, scored by the references in the
// same single Python process as the fixed strings.
const FUZZ_SEED = 16, FUZZ_RUNS = 300;
const FUZZ = fc.sample(unicodeText(), { numRuns: FUZZ_RUNS, seed: FUZZ_SEED });
const ALL = [...STRINGS, ...FUZZ];

type Reference = { file: string; ids: number[][]; decoded: string[] };
const dir = await Deno.makeTempDir({ prefix: "tokenizer_ref_" });
// a Qwen2-sized byte-level BPE and a SentencePiece BPE of the same size, scored like the trained ones
const BIG = 200_000;
await Deno.writeTextFile(`${dir}/big_bpe.json`, bigByteLevelBpe(BIG));
await Deno.writeFile(`${dir}/big_sp_bpe.model`, bigSentencePieceBpe(BIG));
const extra = [
  { name: "hf_big_bytelevel_bpe", kind: "hf", file: `${dir}/big_bpe.json` },
  { name: "sp_big_bpe", kind: "sp", file: `${dir}/big_sp_bpe.model` },
];
await Deno.writeTextFile(`${dir}/plan.json`, JSON.stringify({ strings: ALL, extra }));
const run = await new Deno.Command(".venv/bin/python", {
  args: [new URL("./tokenizer_reference.py", import.meta.url).pathname, dir, `${dir}/plan.json`],
  stdout: "piped",
  stderr: "piped",
}).output();
if (!run.success) throw new Error(`tokenizer_reference.py failed:\n${new TextDecoder().decode(run.stderr)}`);
const expected: { models: Record<string, Reference>; after: Record<"3.2" | "14", number[][]> } = JSON.parse(
  await Deno.readTextFile(`${dir}/expected.json`),
);
const REFERENCE = expected.models;
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const escaped = (s: string) =>
  JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

/**
 * Models whose normalizer or pre-tokenizer reads Unicode tables that tokenizers takes from old crates
 * (BertNormalizer, StripAccents, NFKC: unicode_categories, unicode-normalization-alignments), while
 * V8 carries a recent Unicode. For them a fuzzed string is not compared when it holds a character
 * assigned after Unicode 3.2 whose class those tables decide: a mark, punctuation, a format or space
 * character, or one with a decomposition. The byte-level and byte-fallback models read no such
 * table that differs, and SentencePiece has its own (the precompiled charsmap): they see every string.
 */
const OLD_TABLES = new Set(["hf_wordpiece", "hf_unigram", "hf_bpe_whitespace"]);
const tableDependent = (c: string) =>
  !/\p{Cn}/u.test(c) && (/[\p{M}\p{P}\p{Cf}\p{Z}]/u.test(c) || c.normalize("NFKD") !== c);
const skipped = (name: string, i: number) =>
  OLD_TABLES.has(name) && i >= STRINGS.length &&
  expected.after["3.2"][i].some((c) => tableDependent(String.fromCodePoint(c)));

/** Every fixed and fuzzed string encodes to the reference's ids, and its ids decode to the reference's text. */
function assertMatchesReference(name: string, tok: Tokenizer): number {
  const ref = REFERENCE[name];
  let compared = 0;
  ALL.forEach((s, i) => {
    if (skipped(name, i)) return;
    compared++;
    const where = i < STRINGS.length
      ? `string ${i}`
      : `fuzzed string ${i - STRINGS.length} (seed ${FUZZ_SEED})`;
    assert.deepEqual([...tok.encode(s)], ref.ids[i], `${name}: encode(${escaped(s)}), ${where}`);
    assert.equal(tok.decode(ref.ids[i]), ref.decoded[i], `${name}: decode(ids of ${escaped(s)}), ${where}`);
  });
  return compared;
}

const load = (e: Effect.Effect<Tokenizer, unknown>) => Effect.runPromise(e);

for (const name of ["sp_unigram", "sp_bpe", "sp_unigram_bytes", "sp_big_bpe"]) {
  Deno.test(`loadSentencePiece() encodes and decodes ${STRINGS.length} fixed and ${FUZZ_RUNS} fuzzed strings exactly as the sentencepiece library (${name})`, async () => {
    assert.equal(
      assertMatchesReference(name, await load(loadSentencePiece(REFERENCE[name].file))),
      ALL.length,
    );
  });
}

for (
  const name of [
    "hf_llama_bpe_bytes",
    "hf_bytelevel_bpe",
    "hf_bytelevel_bpe_prefix",
    "hf_wordpiece",
    "hf_unigram",
    "hf_bpe_whitespace",
    "hf_qwen2_split",
    "hf_big_bytelevel_bpe",
  ]
) {
  Deno.test(`loadHfTokenizer() encodes and decodes ${STRINGS.length} fixed and ${FUZZ_RUNS} fuzzed strings exactly as Hugging Face tokenizers (${name})`, async () => {
    const compared = assertMatchesReference(name, await load(loadHfTokenizer(REFERENCE[name].file)));
    const left = ALL.length - compared;
    if (left > 0) {
      console.log(`${name}: ${left} fuzzed strings with characters newer than its Unicode tables skipped`);
    }
    assert.ok(
      left < FUZZ_RUNS / 2,
      `${left} of ${FUZZ_RUNS} fuzzed strings skipped: the fuzz tests too little`,
    );
  });
}

Deno.test("loadHfTokenizer() loads a byte-level BPE tokenizer.json of 1M entries and 1M merges, and round-trips text", async () => {
  const file = `${dir}/bpe_1m.json`;
  await Deno.writeTextFile(file, bigByteLevelBpe(1_000_000, 3));
  const tok = await load(loadHfTokenizer(file));
  assert.equal(tok.vocabSize, 1_000_001);
  for (const text of [STRINGS[4], STRINGS[6], FUZZ[0], "x".repeat(100_000)]) {
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
    assert.equal(tok.decode(ids), text); // byte-level BPE loses nothing
  }
  await Deno.remove(file);
});

/** The smallest of 5 timings of `f`, after one warm-up run. */
function minMs(f: () => unknown): number {
  f();
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

// A complexity check, not a speed figure (bench/tokenizers.ts has those): 16x the text costs ~16-22x for
// an n log n encoder and ~256x for a quadratic one, so the bound of 64 holds on a loaded machine and
// still fails the quadratic encoder this replaced.
Deno.test("every encoder is linear or n log n in the text: 16x the text takes well under 256x the time", async () => {
  const unit = STRINGS.slice(2, 11).join(" ") + " ";
  const text = (bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
  const small = text(8192), large = text(16 * 8192);
  for (
    const name of [
      "sp_bpe",
      "sp_unigram",
      "sp_unigram_bytes",
      "hf_llama_bpe_bytes",
      "hf_bytelevel_bpe",
      "hf_wordpiece",
      "hf_unigram",
      "hf_qwen2_split",
    ]
  ) {
    const file = REFERENCE[name].file;
    const tok = await load(name.startsWith("sp_") ? loadSentencePiece(file) : loadHfTokenizer(file));
    const t0 = performance.now();
    tok.encode(small);
    const first = performance.now() - t0;
    // the quadratic SentencePiece BPE this replaced took 3 s here: stop before 64 KB takes minutes
    assert.ok(first < 1000, `${name}: encoding 8 KB took ${first.toFixed(0)} ms`);
    const ratio = minMs(() => tok.encode(large)) / Math.max(0.05, minMs(() => tok.encode(small)));
    assert.ok(ratio < 64, `${name}: encoding 16x the text took ${ratio.toFixed(1)}x the time`);
  }
});

Deno.test("special ids come from the vocabulary: SentencePiece trainer ids, HF added tokens", async () => {
  const sp = await load(loadSentencePiece(REFERENCE.sp_unigram_bytes.file));
  assert.deepEqual(sp.special, { bos: 1, eos: 2, pad: 3, sep: 2 }); // no <sep> piece: SEP falls back to EOS
  const wp = await load(loadHfTokenizer(REFERENCE.hf_wordpiece.file));
  assert.deepEqual(wp.special, { bos: 2, eos: 3, pad: 0, sep: 3 }); // [CLS] [SEP] [PAD] [SEP]
  const bpe = await load(loadHfTokenizer(REFERENCE.hf_bytelevel_bpe.file, { sep: "<sep>" }));
  assert.deepEqual(bpe.special, { bos: 0, eos: 1, pad: 2, sep: 4 });
});

Deno.test("a special token name missing from the vocabulary is a TokenizerError naming it", async () => {
  const exit = await Effect.runPromiseExit(loadHfTokenizer(REFERENCE.hf_wordpiece.file, { sep: "<nope>" }));
  assert.ok(Exit.isFailure(exit));
  assert.match(String(exit.cause), /TokenizerError|<nope>/);
  const err = await Effect.runPromise(
    Effect.flip(loadHfTokenizer(REFERENCE.hf_wordpiece.file, { sep: "<nope>" })),
  );
  assert.equal(err._tag, "TokenizerError");
  assert.match(err.message, /hf_wordpiece\.json: sep token "<nope>" is not in the vocabulary/);
});

Deno.test("a missing file or a corrupt model fails with a TokenizerError naming the file", async () => {
  const missing = await Effect.runPromise(Effect.flip(loadSentencePiece(`${dir}/absent.model`)));
  assert.equal(missing._tag, "TokenizerError");
  assert.match(missing.message, /absent\.model: cannot read the file/);
  const bytes = await Deno.readFile(REFERENCE.sp_bpe.file);
  await Deno.writeFile(`${dir}/truncated.model`, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const truncated = await Effect.runPromise(Effect.flip(loadSentencePiece(`${dir}/truncated.model`)));
  assert.match(truncated.message, /truncated\.model: not a SentencePiece ModelProto/);
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ model: { type: "Mystery" } }));
  const bad = await Effect.runPromise(Effect.flip(loadHfTokenizer(`${dir}/bad.json`)));
  assert.match(bad.message, /bad\.json: model\.type: "Mystery" is not supported/);
});

Deno.test("byteTokenizer() round-trips any string and keeps ids inside the vocabulary", () => {
  const tok = byteTokenizer();
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), (s) => {
      const ids = tok.encode(s);
      assert.equal(tok.decode(ids), s);
      assert.equal(ids.length, new TextEncoder().encode(s).length);
      for (const id of ids) {
        assert.ok(id >= 0 && id < tok.vocabSize && !Object.values(tok.special).includes(id));
      }
    }),
    { numRuns: 300, seed: 11 },
  );
});

Deno.test("byteTokenizer().decode() skips special ids and replaces malformed UTF-8", () => {
  const tok = byteTokenizer();
  const { bos, eos, pad, sep } = tok.special;
  assert.equal(new Set([bos, eos, pad, sep]).size, 4);
  assert.equal(tok.decode([bos, ...tok.encode("a"), sep, ...tok.encode("é"), eos, pad]), "aé");
  assert.equal(tok.decode([0xc3 + 3]), "\ufffd"); // a lone lead byte
});
