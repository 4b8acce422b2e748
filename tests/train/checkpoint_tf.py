"""TensorFlow's view of a checkpoint directory, for tests/train/checkpoint_test.ts.

Prints {key: {"dtype", "shape", "hex"}} for every tensor tf.train.load_checkpoint(dir) finds (the
directory's `checkpoint` state file names the bundle): numeric values as their little-endian bytes
in hex (exact, NaN and -0 included), a string scalar as the hex of its bytes.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

reader = tf.train.load_checkpoint(sys.argv[1])
out = {}
for key, dtype in reader.get_variable_to_dtype_map().items():
    value = reader.get_tensor(key)
    if dtype == tf.string:
        raw, shape = bytes(value), []
    else:
        arr = np.asarray(value)
        raw, shape = arr.astype(arr.dtype.newbyteorder("<")).tobytes(), list(arr.shape)
    out[key] = {"dtype": dtype.name, "shape": shape, "hex": raw.hex()}
json.dump(out, sys.stdout)
