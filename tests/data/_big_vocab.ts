/**
 * Synthetic tokenizers with very large vocabularies, for the load tests and bench/tokenizers.ts:
 * a byte-level BPE tokenizer.json (GPT-2/Qwen2 layout) and a SentencePiece BPE ModelProto, each
 * with `size` entries: the alphabet, then every token extended by one more character, breadth
 * first (a trie's order), so each entry is the merge of two earlier ones and no set of seen strings
 * is needed to build a million of them quickly. `seed` rotates the alphabet, so two seeds give
 * different vocabularies.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "../../formats/protos/sentencepiece/sentencepiece_model_pb.ts";
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
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      pieces: pieces.map(([piece, score, type]) => ({ piece, score, type })),
      trainerSpec: {
        modelType: trainer.modelType ?? 2,
        ...(trainer.byteFallback ? { byteFallback: true } : {}),
      },
      ...(charsmap ? { normalizerSpec: { precompiledCharsmap: charsmap } } : {}),
    }),
  );
}

/** A SentencePiece BPE ModelProto with `size` pieces (<unk>, <s>, </s>, then merged pieces). */
export function bigSentencePieceBpe(size: number, seed = 1): Uint8Array {
  const letters = ["\u2581", ..."abcdefghijklmnopqrstuvwxyz.,ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
  const [tokens] = grow(letters, size - 3, seed);
  // merged pieces score by creation order (earlier merges first), the letters after them
  const pieces: [string, number, number][] = [
    ["<unk>", 0, 2],
    ["<s>", 0, 3],
    ["</s>", 0, 3],
    ...tokens.map((t, i): [string, number, number] => [t, i < letters.length ? -size - i : -i, 1]),
  ];
  return sentencePieceModel(pieces);
}
