"""The TF driver's view of the folders tests/data/shard_manifest_test.ts prepared.

usage: shard_listing_check.py PLAN_JSON RESULT_JSON
PLAN_JSON: {"patterns": [pattern, ...]}. For each pattern export/tf/_driver_data.py's shard_files is
called; RESULT_JSON gets {pattern: {"files": [...], "records": n} | {"error": "DataError: ..."}}, where
records counts what tf.data reads from those files.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "export", "tf"))
import tensorflow as tf  # noqa: E402
import _driver_data as data  # noqa: E402

plan = json.load(open(sys.argv[1]))
result = {}
for pattern in plan["patterns"]:
    try:
        files = data.shard_files(pattern)
        result[pattern] = {"files": files, "records": sum(1 for _ in tf.data.TFRecordDataset(files))}
    except Exception as e:  # report every failure, typed or not: the test checks it is a DataError
        result[pattern] = {"error": f"{type(e).__name__}: {e}"}
json.dump(result, open(sys.argv[2], "w"))
