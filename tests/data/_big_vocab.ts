/**
 * Synthetic tokenizers with very large vocabularies, for the load tests and bench/tokenizers.ts:
 * a byte-level BPE tokenizer.json (GPT-2/Qwen2 layout) and a SentencePiece BPE ModelProto, each
 * with `size` entries: the alphabet, then every token extended by one more character, breadth
 * first (a trie's order), so each entry is the merge of two earlier ones and no set of seen strings
 * is needed to build a million of them quickly. `seed` rotates the alphabet, so two seeds give
 * different vocabularies.
 */
import { bytes, message, varint } from "../../formats/proto.ts";
import { bytesToUnicode } from "../../data/tokenizer/hf_split.ts";

/** Tokens built from `alphabet`: [tokens, merges as pairs]. */
function grow(alphabet: readonly string[], size: number, seed: number): [string[], [string, string][]] {
  const k = seed % alphabet.length;
  const letters = [...alphabet.slice(k), ...alphabet.slice(0, k)];
  const tokens = [...letters], merges: [string, string][] = [];
  for (let parent = 0; tokens.length < size; parent++) {
    for (let c = 0; c < letters.length && tokens.length < size; c++) {
      tokens.push(tokens[parent] + letters[c]);
      merges.push([tokens[parent], letters[c]]);
    }
  }
  return [tokens, merges];
}

/** The JSON text of a byte-level BPE tokenizer.json with `size` vocabulary entries plus one added token. */
export function bigByteLevelBpe(size: number, seed = 1): string {
  const [tokens, merges] = grow(bytesToUnicode(), size, seed);
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: size,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  });
}

/** A SentencePiece ModelProto from its pieces ([text, score, type]) and trainer options. */
export function sentencePieceModel(
  pieces: readonly (readonly [string, number, number])[],
  trainer: { readonly modelType?: number; readonly byteFallback?: boolean } = {},
  charsmap?: Uint8Array,
): Uint8Array {
  const spec = message(
    varint(3, trainer.modelType ?? 2),
    trainer.byteFallback ? varint(35, 1) : new Uint8Array(0),
  );
  const normalizer = charsmap ? [bytes(3, message(bytes(2, charsmap)))] : [];
  return message(pieces.map(([t, score, type]) => piece(t, score, type)), bytes(2, spec), normalizer);
}

/** A SentencePiece BPE ModelProto with `size` pieces (<unk>, <s>, </s>, then merged pieces). */
export function bigSentencePieceBpe(size: number, seed = 1): Uint8Array {
  const letters = ["\u2581", ..."abcdefghijklmnopqrstuvwxyz.,ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
  const [tokens] = grow(letters, size - 3, seed);
  // merged pieces score by creation order (earlier merges first), the letters after them
  const pieces = [
    piece("<unk>", 0, 2),
    piece("<s>", 0, 3),
    piece("</s>", 0, 3),
    ...tokens.map((t, i) => piece(t, i < letters.length ? -size - i : -i, 1)),
  ];
  return message(pieces, bytes(2, message(varint(3, 2))));
}

const utf8 = new TextEncoder();

/** ModelProto.pieces entry: {1: piece, 2: score (float), 3: type}, written by hand for speed. */
function piece(text: string, score: number, type: number): Uint8Array {
  const t = utf8.encode(text);
  if (t.length > 100) throw new Error("piece longer than the one-byte lengths written here");
  const body = new Uint8Array(2 + t.length + 5 + 2);
  body.set([0x0a, t.length], 0);
  body.set(t, 2);
  body[2 + t.length] = 0x15; // field 2, fixed32
  new DataView(body.buffer).setFloat32(3 + t.length, score, true);
  body.set([0x18, type], 7 + t.length); // field 3, varint
  const out = new Uint8Array(2 + body.length);
  out.set([0x0a, body.length], 0);
  out.set(body, 2);
  return out;
}
