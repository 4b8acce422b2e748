"""Tokenizer models for bench/tokenizers.ts, trained on the paper's text, and the reference libraries' times.

usage: tokenizer_models.py CORPUS_TXT OUT_DIR SIZES_JSON
Trains SentencePiece BPE and unigram models and Hugging Face byte-level BPE, WordPiece and Unigram
tokenizers (vocabulary 4000) on CORPUS_TXT, saves them in OUT_DIR, and writes OUT_DIR/reference.json:
{name: {"file": path, "ms": {size: median ms to encode the first `size` bytes of the corpus}}}.
"""
import json
import os
import sys
import time

import sentencepiece as spm
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

corpus_path, out, sizes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
text = open(corpus_path, encoding="utf-8").read()
lines = [l for l in text.split("\n") if l.strip()]
models_out = {}

for name, kind in [("sp_bpe", "bpe"), ("sp_unigram", "unigram")]:
    prefix = os.path.join(out, name)
    spm.SentencePieceTrainer.train(input=corpus_path, model_prefix=prefix, model_type=kind, vocab_size=4000,
                                   hard_vocab_limit=False, minloglevel=2, max_sentence_length=100000)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    models_out[name] = (prefix + ".model", lambda s, sp=sp: sp.encode(s))

specials = ["<s>", "</s>", "<pad>", "<unk>"]
bl = Tokenizer(models.BPE())
bl.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bl.decoder = decoders.ByteLevel()
bl.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=4000, special_tokens=specials,
                                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
wp.normalizer = normalizers.BertNormalizer(lowercase=True)
wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
wp.decoder = decoders.WordPiece()
wp.train_from_iterator(lines, trainers.WordPieceTrainer(vocab_size=4000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
un = Tokenizer(models.Unigram())
un.normalizer = normalizers.NFKC()
un.pre_tokenizer = pre_tokenizers.Metaspace()
un.decoder = decoders.Metaspace()
un.train_from_iterator(lines, trainers.UnigramTrainer(vocab_size=4000, special_tokens=specials, unk_token="<unk>"))
for name, t in [("hf_bytelevel_bpe", bl), ("hf_wordpiece", wp), ("hf_unigram", un)]:
    path = os.path.join(out, name + ".json")
    t.save(path)
    t = Tokenizer.from_file(path)
    models_out[name] = (path, lambda s, t=t: t.encode(s, add_special_tokens=False).ids)


def median_ms(f, s, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f(s)
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


data = text.encode("utf-8")
reference = {}
for name, (path, encode) in models_out.items():
    reference[name] = {"file": path, "ms": {}}
    for size in sizes:
        s = data[:size].decode("utf-8", errors="ignore")
        reference[name]["ms"][str(size)] = median_ms(encode, s)
json.dump(reference, open(os.path.join(out, "reference.json"), "w"))
