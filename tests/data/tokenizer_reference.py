"""Reference tokenizations for tests/data/tokenizer_test.ts, from the real libraries, in one process.

usage: tokenizer_reference.py OUT_DIR PLAN_JSON
PLAN_JSON: {"strings": [str, ...], "extra": [{"name", "kind": "hf" | "sp", "file"}, ...]}: the fixed
and the fuzzed strings, and models made elsewhere (the large synthetic vocabularies).
Trains small models on a fixed corpus with `sentencepiece` and Hugging Face `tokenizers`, saves them
in OUT_DIR (.model / tokenizer.json), scores every string with every model, and writes
OUT_DIR/expected.json: {"models": {name: {"file": path, "ids": [[...] per string], "decoded": [str
per string]}}, "after": {"3.2": [[code point, ...] per string], "14": [...]}}, where `after[v]` lists
the code points of each string that Unicode v did not assign (Python's unicodedata.ucd_3_2_0 and
unicodedata, 14.0): the Rust crates under tokenizers carry Unicode tables of different ages
(unicode-normalization-alignments and unicode_categories are old, onig is 14-ish, std is new), so
they and V8 may classify such a character differently.
"""
import json
import os
import sys
import unicodedata

import sentencepiece as spm
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What colour was the square when the high tone played?",
    "A red square moves left; a blue circle moves right.",
    "Café naïve résumé — coöperate, façade, jalapeño.",
    "東京で猫が鳴いた。 Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ and ① ② ③.",
    "Emoji: 😀 🎵 🐈‍⬛ 👍🏽 end.",
    "Numbers 12345 and 3.14159, 2026-11-24, 42nd street.",
    "It's a dog's life; they're here, we've gone, I'm done, you'll see, he'd go.",
    "tabs\tand   multiple    spaces\nand newlines\r\n too",
    "Mirasol3B models video, audio and text together.",
    "question: how many times did the drum play? answer: three",
] * 20

out, plan_path = sys.argv[1], sys.argv[2]
plan = json.load(open(plan_path))
strings = plan["strings"]
corpus_path = os.path.join(out, "corpus.txt")
with open(corpus_path, "w") as f:
    f.write("\n".join(CORPUS) + "\n")

expected = {}


def record(name, file, encode, decode):
    ids = [encode(s) for s in strings]
    expected[name] = {"file": file, "ids": ids, "decoded": [decode(i) for i in ids]}


for extra in plan.get("extra", []):
    if extra["kind"] == "sp":
        sp = spm.SentencePieceProcessor(model_file=extra["file"])
        record(extra["name"], extra["file"], lambda s, sp=sp: sp.encode(s), lambda i, sp=sp: sp.decode(i))
    else:
        t = Tokenizer.from_file(extra["file"])
        record(extra["name"], extra["file"], lambda s, t=t: t.encode(s, add_special_tokens=False).ids,
               lambda i, t=t: t.decode(i, skip_special_tokens=True))


# SentencePiece: unigram, BPE, and unigram with byte fallback and a user-defined symbol
for name, extra in [
    ("sp_unigram", dict(model_type="unigram", vocab_size=400)),
    ("sp_bpe", dict(model_type="bpe", vocab_size=400)),
    ("sp_unigram_bytes", dict(model_type="unigram", vocab_size=700, byte_fallback=True, user_defined_symbols=["<video>"],
                              pad_id=3, unk_id=0, bos_id=1, eos_id=2)),
]:
    prefix = os.path.join(out, name)
    # coverage < 1 leaves rare characters out of the vocabulary, so unknowns are exercised
    spm.SentencePieceTrainer.train(input=corpus_path, model_prefix=prefix, hard_vocab_limit=False,
                                   character_coverage=0.98, minloglevel=2, **extra)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    record(name, prefix + ".model", lambda s, sp=sp: sp.encode(s), lambda i, sp=sp: sp.decode(i))

# Hugging Face: byte-level BPE (GPT-2/RoBERTa), WordPiece (BERT), Unigram with Metaspace (T5-like)
specials = ["<s>", "</s>", "<pad>", "<unk>", "<sep>"]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok.add_tokens([AddedToken("<video>", normalized=False, lstrip=True), AddedToken(" colour", normalized=True)])
bpe_prefixed = Tokenizer.from_str(tok.to_str())
bpe_prefixed.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)

tok_wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok_wp.normalizer = normalizers.BertNormalizer(lowercase=True)
tok_wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok_wp.decoder = decoders.WordPiece()
tok_wp.train_from_iterator(CORPUS, trainers.WordPieceTrainer(
    vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
tok_wp.add_tokens(["Mirasol", "<video>"])  # normalized added tokens: matched after lowercasing

tok_uni = Tokenizer(models.Unigram())
tok_uni.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
tok_uni.pre_tokenizer = pre_tokenizers.Metaspace()
tok_uni.decoder = decoders.Metaspace()
tok_uni.train_from_iterator(CORPUS, trainers.UnigramTrainer(vocab_size=200, special_tokens=specials,
                                                            unk_token="<unk>"))

tok_ws = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##"))
tok_ws.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
tok_ws.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)])
tok_ws.decoder = decoders.WordPiece()
tok_ws.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                       continuing_subword_prefix="##"))

# Llama/Mistral style: no pre-tokenizer, spaces as U+2581 by normalizers, BPE with byte fallback
trained = Tokenizer(models.BPE(unk_token="<unk>"))
trained.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
trained.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"]))
state = json.loads(trained.to_str())["model"]
vocab = dict(state["vocab"])
for b in range(256):
    vocab.setdefault(f"<0x{b:02X}>", len(vocab))
merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
tok_llama = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
tok_llama.add_special_tokens(["<unk>", "<s>", "</s>"])
tok_llama.normalizer = trained.normalizer
tok_llama.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                       decoders.Strip(" ", 1, 0)])

# Qwen2/Llama-3 style: an Oniguruma Split regex ((?i:...), \p{N}{1,3}, \s, lookahead) before byte-level BPE
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
         r"|\s+(?!\S)|\s+")
tok_qwen = Tokenizer(models.BPE())
tok_qwen.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), "isolated"),
                                                  pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok_qwen.decoder = decoders.ByteLevel()
tok_qwen.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))

for name, t in [("hf_qwen2_split", tok_qwen), ("hf_llama_bpe_bytes", tok_llama), ("hf_bytelevel_bpe", tok), ("hf_bytelevel_bpe_prefix", bpe_prefixed), ("hf_wordpiece", tok_wp),
                ("hf_unigram", tok_uni), ("hf_bpe_whitespace", tok_ws)]:
    path = os.path.join(out, name + ".json")
    t.save(path)
    t = Tokenizer.from_file(path)
    record(name, path, lambda s, t=t: t.encode(s, add_special_tokens=False).ids,
           lambda i, t=t: t.decode(i, skip_special_tokens=True))

after = {v: [[ord(c) for c in s if db.category(c) == "Cn"] for s in strings]
         for v, db in [("3.2", unicodedata.ucd_3_2_0), ("14", unicodedata)]}
json.dump({"models": expected, "after": after}, open(os.path.join(out, "expected.json"), "w"), ensure_ascii=False)
