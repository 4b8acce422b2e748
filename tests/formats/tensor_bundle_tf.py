"""TensorFlow's side of tests/formats/tensor_bundle_test.ts.

Reads a JSON job on stdin: {"save": [{"prefix", "entries": [{"key", "dtype", "shape", "data"}]}],
"load": [prefix, ...]}. Tensor bytes travel as base64 (little-endian raw bytes; a list of base64
strings for string tensors), so no value is rounded on the way. Saves with tf.raw_ops.SaveV2 in
the order given, loads with tf.train.load_checkpoint, and prints {"loaded": {prefix: {key: entry}}}.
"""
import base64
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

DTYPES = {
    "float32": (tf.float32, np.float32),
    "int32": (tf.int32, np.int32),
    "int64": (tf.int64, np.int64),
    "uint32": (tf.uint32, np.uint32),
    "bool": (tf.bool, np.bool_),
    "bfloat16": (tf.bfloat16, tf.bfloat16.as_numpy_dtype),
    "string": (tf.string, object),
}
NAMES = {tf_dtype: name for name, (tf_dtype, _) in DTYPES.items()}


def to_tensor(entry):
    tf_dtype, np_dtype = DTYPES[entry["dtype"]]
    shape = entry["shape"]
    if entry["dtype"] == "string":
        items = [base64.b64decode(s) for s in entry["data"]]
        return tf.constant(np.array(items, dtype=object).reshape(shape), dtype=tf.string)
    raw = base64.b64decode(entry["data"])
    return tf.constant(np.frombuffer(raw, dtype=np_dtype).reshape(shape), dtype=tf_dtype)


def from_array(name, value, dtype):
    arr = np.asarray(value)
    out = {"dtype": NAMES[dtype], "shape": list(arr.shape)}
    if dtype == tf.string:
        out["data"] = [base64.b64encode(bytes(s)).decode() for s in arr.reshape(-1)]
    elif dtype == tf.bfloat16:
        out["data"] = base64.b64encode(arr.view(np.uint16).astype("<u2").tobytes()).decode()
    else:
        out["data"] = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()
    return out


def main():
    job = json.load(sys.stdin)
    for save in job.get("save", []):
        entries = save["entries"]
        tf.raw_ops.SaveV2(
            prefix=save["prefix"],
            tensor_names=[e["key"] for e in entries],
            shape_and_slices=[""] * len(entries),
            tensors=[to_tensor(e) for e in entries],
        )
    loaded = {}
    for prefix in job.get("load", []):
        reader = tf.train.load_checkpoint(prefix)
        dtypes = reader.get_variable_to_dtype_map()
        loaded[prefix] = {k: from_array(k, reader.get_tensor(k), d) for k, d in dtypes.items()}
    json.dump({"loaded": loaded}, sys.stdout)


if __name__ == "__main__":
    main()
