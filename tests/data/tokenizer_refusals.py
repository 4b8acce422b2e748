"""Does the reference library refuse each malformed tokenizer file of tests/data/fault_table.ts?

usage: tokenizer_refusals.py PLAN_JSON RESULT_JSON
PLAN_JSON: [{"name", "kind": "hf" | "sp", "file", "text"}]: each file is loaded with Hugging Face
`tokenizers` or `sentencepiece`, then `text` is encoded. RESULT_JSON: {name: "refused: <message>"
when loading or encoding raised (a Rust panic included), else "accepted"}.
"""
import json
import sys

import sentencepiece as spm
from tokenizers import Tokenizer

plan = json.load(open(sys.argv[1]))
result = {}
for case in plan:
    try:
        if case["kind"] == "hf":
            Tokenizer.from_file(case["file"]).encode(case["text"], add_special_tokens=False)
        else:
            spm.SentencePieceProcessor(model_file=case["file"]).encode(case["text"])
        result[case["name"]] = "accepted"
    except BaseException as e:  # pyo3 turns a Rust panic into PanicException, a BaseException
        result[case["name"]] = f"refused: {str(e).strip()[:200]}"
json.dump(result, open(sys.argv[2], "w"))
