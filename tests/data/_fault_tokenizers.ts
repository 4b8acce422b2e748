/** The tokenizer-file and tokenizer-use rows of the fault table (see fault_table.ts). */
import { Effect } from "effect";
import { hfTokenizer, loadHfTokenizer } from "../../data/tokenizer/hf_tokenizer.ts";
import { loadSentencePiece } from "../../data/tokenizer/sentencepiece.ts";
import { byteTokenizer } from "../../data/tokenizer/byte.ts";
import { wordTokenizer } from "../../data/tokenizer/word.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import { bigByteLevelBpe, sentencePieceModel } from "./_big_vocab.ts";
import { type FaultCase, thrown, write } from "./_fault_case.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

export function tokenizerFaults(dir: string): FaultCase[] {
  const base: Json = JSON.parse(bigByteLevelBpe(600));
  const hf = (
    name: string,
    change: (j: Json) => void,
    text = "hello world",
  ): FaultCase["reference"] & { file: string } => {
    const j = structuredClone(base);
    change(j);
    return { kind: "hf", file: write(dir, `${name}.json`, JSON.stringify(j)), text };
  };
  const raw = (name: string, text: string) => ({
    kind: "hf" as const,
    file: write(dir, `${name}.json`, text),
    text: "hi",
  });
  const wordPiece = (vocab: Record<string, number>) => ({
    version: "1.0",
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  });
  const unigram = (model: Json) => ({
    ...wordPiece({}),
    model: { type: "Unigram", byte_fallback: false, ...model },
  });
  const letters = [..."abcdefghijklmnopqrstuvwxyz"].map((c, i) => [`\u2581${c}`, -i - 1, 1] as const);
  const spPieces = [["<unk>", 0, 2], ["<s>", 0, 3], ["</s>", 0, 3], ["\u2581", -0.5, 1], ...letters] as const;
  const sp = (
    name: string,
    pieces: readonly (readonly [string, number, number])[],
    trainer = {},
    charsmap?: Uint8Array,
  ) => ({
    kind: "sp" as const,
    file: write(dir, `${name}.model`, sentencePieceModel(pieces, trainer, charsmap)),
    text: "a b",
  });
  const bytePieces = Array.from(
    { length: 256 },
    (_, b) => [`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, 0, 6] as const,
  );
  const validSp = sp("valid_sp", spPieces);
  const truncatedSp = {
    ...validSp,
    file: write(dir, "truncated.model", Deno.readFileSync(validSp.file).subarray(0, 100)),
  };

  const wpNoUnk = hf("wp_no_unk", (j) => Object.assign(j, wordPiece({ "<s>": 0, "</s>": 1, a: 2 })), "a zzz");
  const bpeUnkMissing = hf("bpe_unk_missing", (j) => {
    j.pre_tokenizer = null; // raw characters reach the model: "€" is none of its byte symbols
    j.model.unk_token = "<nope>";
  }, "a€");
  const unigramNoUnk = hf(
    "unigram_no_unk",
    (j) => Object.assign(j, unigram({ vocab: [["<s>", 0], ["</s>", 0], ["a", -1]] })),
    "a b",
  );
  const hfFile = (r: { file: string }) => loadHfTokenizer(r.file);
  const spFile = (r: { file: string }) => loadSentencePiece(r.file);
  const tokenizerOf = (j: Json) => hfTokenizer(j, "inline");
  const useFile = (r: { file: string }, use: (t: Tokenizer) => unknown) =>
    hfFile(r).pipe(Effect.flatMap((t) => thrown(() => use(t))));
  const refused = (name: string, r: ReturnType<typeof hf>, message: RegExp): FaultCase => ({
    name,
    kind: "tokenizer file",
    run: () => hfFile(r),
    tag: "TokenizerError",
    message,
    reference: r,
  });
  const refusedSp = (name: string, r: ReturnType<typeof sp>, message: RegExp): FaultCase => ({
    name,
    kind: "tokenizer file",
    run: () => spFile(r),
    tag: "TokenizerError",
    message,
    reference: r,
  });

  return [
    // ---- malformed tokenizer.json files (tokenizers refuses each)
    refused(
      "a vocabulary id that is text",
      hf("id_text", (j) => (j.model.vocab.a = "x")),
      /model\.vocab\.a: Expected an id .*got "x"/,
    ),
    refused(
      "a negative vocabulary id",
      hf("id_negative", (j) => (j.model.vocab.a = -1)),
      /model\.vocab\.a: Expected an id .*got -1/,
    ),
    refused(
      "a fractional vocabulary id",
      hf("id_float", (j) => (j.model.vocab.a = 1.5)),
      /model\.vocab\.a: .*got 1\.5/,
    ),
    refused(
      "a vocabulary that is a list",
      hf("vocab_list", (j) => (j.model.vocab = [1, 2])),
      /model\.vocab: Expected an object of token -> id, got an array/,
    ),
    refused("a BPE model without merges", hf("no_merges", (j) => delete j.model.merges), /model\.merges: /),
    refused(
      "a merge of a token outside the vocabulary",
      hf("merge_oov", (j) => j.model.merges.push(["qqq", "a"])),
      /model\.merges\[\d+\]: token "qqq" is not in the vocabulary/,
    ),
    refused(
      "a merge whose result is outside the vocabulary",
      hf("merge_result_oov", (j) => j.model.merges.push(["a", "\u0120"])),
      /model\.merges\[\d+\]: token "a\u0120" is not in the vocabulary/,
    ),
    refused(
      "a merge of three parts",
      hf("merge_three", (j) => j.model.merges.push("a b c")),
      /model\.merges\[\d+\]: Expected "a b" or \["a", "b"\], got "a b c"/,
    ),
    refused(
      "a merge that is a number",
      hf("merge_number", (j) => j.model.merges.push(3)),
      /model\.merges\[\d+\]: Expected "a b" .*got 3/,
    ),
    refused(
      "an unknown model type",
      hf("model_type", (j) => (j.model.type = "Mystery")),
      /model\.type: "Mystery" is not supported/,
    ),
    refused("no model", hf("no_model", (j) => delete j.model), /no "model" field/),
    refused(
      "an unknown normalizer",
      hf("normalizer_type", (j) => (j.normalizer = { type: "Nope" })),
      /normalizer: Expected a normalizer of type NFC/,
    ),
    refused(
      "a Strip normalizer without strip_left",
      hf("strip_missing", (j) => (j.normalizer = { type: "Strip", strip_right: true })),
      /normalizer\.strip_left: missing/,
    ),
    refused(
      "a ByteLevel flag given as text",
      hf("flag_text", (j) => (j.pre_tokenizer.add_prefix_space = "yes")),
      /pre_tokenizer\.add_prefix_space: Expected boolean, got "yes"/,
    ),
    refused(
      "an unknown decoder",
      hf("decoder_type", (j) => (j.decoder = { type: "Nope" })),
      /decoder: Expected a decoder of type/,
    ),
    refused(
      "an added token without an id",
      hf("added_no_id", (j) =>
        j.added_tokens.push({
          content: "<x>",
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        })),
      /added_tokens\[1\]\.id: missing/,
    ),
    refused(
      "an added token id given as text",
      hf("added_id_text", (j) => (j.added_tokens[0].id = "7")),
      /added_tokens\[0\]\.id: Expected .*got "7"/,
    ),
    refused(
      "an added token without its special flag",
      hf("added_no_special", (j) => delete j.added_tokens[0].special),
      /added_tokens\[0\]\.special: missing/,
    ),
    refused(
      "added_tokens that is an object",
      hf("added_object", (j) => (j.added_tokens = {})),
      /added_tokens: Expected .*got \{\}/,
    ),
    refused("an unknown top-level field", hf("top_extra", (j) => (j.extra = 1)), /extra: unknown field/),
    refused(
      "a version other than 1.0",
      hf("version", (j) => (j.version = "2.0")),
      /version: Expected "1\.0", got "2\.0"/,
    ),
    refused(
      "a Split regex that does not compile",
      hf(
        "bad_regex",
        (
          j,
        ) => (j.pre_tokenizer = {
          type: "Split",
          pattern: { Regex: "(" },
          behavior: "Isolated",
          invert: false,
        }),
      ),
      /pre_tokenizer: .*does not compile/,
    ),
    refused(
      "an unknown Split behaviour",
      hf(
        "bad_behavior",
        (
          j,
        ) => (j.pre_tokenizer = { type: "Split", pattern: { String: " " }, behavior: "Nope", invert: false }),
      ),
      /pre_tokenizer\.behavior: Expected .*got "Nope"/,
    ),
    refused(
      "a dropout above 1",
      hf("dropout", (j) => (j.model.dropout = 2)),
      /model\.dropout: Expected a dropout between 0 and 1, got 2/,
    ),
    refused("a tokenizer.json cut short", raw("cut", JSON.stringify(base).slice(0, 300)), /invalid JSON/),
    refused("a file that is not JSON", raw("not_json", "hello"), /invalid JSON/),
    refused(
      "a Unigram unk_id past its pieces",
      hf("unk_id", (j) => Object.assign(j, unigram({ vocab: [["a", -1], ["b", -2]], unk_id: 5 }))),
      /model\.unk_id: 5 is not the id of one of the 2 pieces/,
    ),
    refused(
      "a Unigram score given as text",
      hf("unigram_score", (j) => Object.assign(j, unigram({ vocab: [["a", "x"]], unk_id: 0 }))),
      /model\.vocab\[0\]: Expected \[piece, score\], got \["a","x"\]/,
    ),
    refused(
      "a precompiled charsmap that is not base64",
      hf("charsmap_b64", (j) => (j.normalizer = { type: "Precompiled", precompiled_charsmap: "!!!" })),
      /normalizer: /,
    ),
    refused(
      "a WordPiece model without max_input_chars_per_word",
      hf("wp_missing", (j) => {
        Object.assign(j, wordPiece({ a: 0, "[UNK]": 1 }));
        delete j.model.max_input_chars_per_word;
      }),
      /model\.max_input_chars_per_word: missing/,
    ),

    // ---- malformed SentencePiece models (sentencepiece refuses each)
    refusedSp("a .model cut short", truncatedSp, /truncated\.model: not a SentencePiece ModelProto/),
    refusedSp("text named .model", {
      ...validSp,
      file: write(dir, "text.model", "hello world, not a protobuf"),
    }, /text\.model: not a SentencePiece ModelProto|text\.model: /),
    refusedSp(
      "an empty .model",
      { ...validSp, file: write(dir, "empty.model", new Uint8Array(0)) },
      /empty\.model: the model has no pieces/,
    ),
    refusedSp(
      "no unknown piece",
      sp("no_unk", spPieces.map(([t, s, ty]) => [t, s, ty === 2 ? 1 : ty] as const)),
      /no piece is the unknown piece/,
    ),
    refusedSp(
      "two unknown pieces",
      sp("two_unk", [...spPieces, ["<unk2>", 0, 2]]),
      /pieces 0 and 30 are both the unknown piece/,
    ),
    refusedSp(
      "a piece defined twice",
      sp("dup_piece", [...spPieces, ["\u2581a", -9, 1]]),
      /piece 30 "\u2581a" is already defined/,
    ),
    refusedSp("an empty piece", sp("empty_piece", [...spPieces, ["", -9, 1]]), /piece 30 is empty/),
    refusedSp(
      "a byte piece without byte_fallback",
      sp("byte_no_fallback", [...spPieces, ["<0x41>", 0, 6]]),
      /byte piece "<0x41>" is found although byte_fallback is false/,
    ),
    refusedSp(
      "byte_fallback with a byte piece missing",
      sp("missing_byte", [...spPieces, ...bytePieces.slice(1)], { byteFallback: true }),
      /byte_fallback is set but piece <0x0> is missing/,
    ),
    refusedSp(
      "a malformed byte piece",
      sp("bad_byte", [...spPieces, ...bytePieces, ["<0xZZ>", 0, 6]], { byteFallback: true }),
      /byte piece "<0xZZ>" is not <0xHH>/,
    ),
    refusedSp(
      "a broken precompiled charsmap",
      sp("bad_charsmap", spPieces, {}, new Uint8Array([1, 2])),
      /precompiled charsmap is shorter than its 4-byte header/,
    ),
    refusedSp(
      "a charsmap whose trie runs past its blob",
      sp("long_trie", spPieces, {}, new Uint8Array([0xff, 0xff, 0, 0, 1, 2, 3, 4])),
      /declares a 65535-byte trie in a 8-byte blob/,
    ),

    // ---- tokenizer misuse
    {
      name: "decoding an id past the vocabulary (tokenizer.json)",
      kind: "tokenizer use",
      run: () => thrown(() => tokenizerOf(base).decode([5, 999_999])),
      tag: "TokenizeError",
      message: /Cannot decode with tokenizer inline: id 999999 at position 1 is outside \[0, 601\)/,
    },
    {
      name: "decoding id -1 (SentencePiece)",
      kind: "tokenizer use",
      run: () => spFile(validSp).pipe(Effect.flatMap((t) => thrown(() => t.decode([3, -1])))),
      tag: "TokenizeError",
      message: /valid_sp\.model: id -1 at position 1 is outside \[0, 30\)/,
    },
    {
      name: "decoding a fractional id",
      kind: "tokenizer use",
      run: () => thrown(() => byteTokenizer().decode([70, 1.5])),
      tag: "TokenizeError",
      message: /tokenizer byte: id 1\.5 at position 1 is outside \[0, 261\)/,
    },
    {
      name: "decoding byte id 261",
      kind: "tokenizer use",
      run: () => thrown(() => byteTokenizer().decode([261])),
      tag: "TokenizeError",
      message: /id 261 at position 0 is outside/,
    },
    {
      name: "decoding an id the word list does not have",
      kind: "tokenizer use",
      run: () => thrown(() => wordTokenizer(["red"]).decode([5, 6])),
      tag: "TokenizeError",
      message: /id 6 at position 1 is outside \[0, 6\)/,
    },
    {
      name: "decoding an id in a hole of the vocabulary",
      kind: "tokenizer use",
      run: () => thrown(() => tokenizerOf({ ...wordPiece({ "[CLS]": 0, "[SEP]": 1, a: 3 }) }).decode([2])),
      tag: "TokenizeError",
      message: /id 2 at position 0 names no token/,
    },
    {
      name: "a WordPiece word with no [UNK] to fall back on",
      kind: "tokenizer use",
      run: () => useFile(wpNoUnk, (t) => t.encode(wpNoUnk.text)),
      tag: "TokenizeError",
      message:
        /Cannot encode with tokenizer .*wp_no_unk\.json: a word is not in the vocabulary and unk_token "\[UNK\]" is not either/,
      reference: wpNoUnk,
    },
    {
      name: "a BPE character with an unk_token missing from the vocabulary",
      kind: "tokenizer use",
      run: () => useFile(bpeUnkMissing, (t) => t.encode(bpeUnkMissing.text)),
      tag: "TokenizeError",
      message: /"€" is not in the vocabulary and unk_token "<nope>" is not either/,
      reference: bpeUnkMissing,
    },
    {
      name: "a Unigram character without unk_id",
      kind: "tokenizer use",
      run: () => useFile(unigramNoUnk, (t) => t.encode(unigramNoUnk.text)),
      tag: "TokenizeError",
      message: /"b" has a character no piece covers, and the Unigram model has no unk_id/,
      reference: unigramNoUnk,
    },
  ];
}
