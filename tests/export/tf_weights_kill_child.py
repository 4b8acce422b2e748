"""Child of tests/export/tf_weights_kill_test.ts: the TF driver's weight writer in a loop, to be SIGKILLed.

Prints JSON lines: {"ready": true} once TensorFlow is imported; then, after a line on stdin (the
previous child is dead by then), {"loaded": step, "whole": bool} for the committed checkpoint as
read_params reads it (every param filled with its step, meta/step equal) and the files found, and {"wrote": step,
"files": [...]} after each write_weights, listed between two writes."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../export/tf"))
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import _driver_weights as weights  # noqa: E402

out = sys.argv[1]
SHAPES = {"enc/w": [512, 1024], "dec/w": [1024, 1024], "dec/b": [1024]}  # 6 MiB: a write takes tens of ms
CONFIG = {"name": "kill-loop"}


def say(row) -> None:
    print(json.dumps(row), flush=True)


say({"ready": True})
sys.stdin.readline()
try:
    with open(os.path.join(out, "checkpoint.json")) as f:
        info = json.load(f)
except FileNotFoundError:
    info = None
if info is None:
    say({"loaded": None, "whole": True, "files": sorted(os.listdir(out))})
else:
    step = info["step"]
    params = weights.read_params(out)
    meta = tf.train.load_checkpoint(os.path.join(out, info["prefix"])).get_tensor("meta/step")
    whole = sorted(params) == sorted(SHAPES) and int(meta) == step and all(
        list(params[k].shape) == SHAPES[k] and bool(np.all(params[k] == step)) for k in SHAPES)
    say({"loaded": step, "whole": whole, "files": sorted(os.listdir(out))})
step = (info["step"] if info else 0) + 1
while True:
    weights.write_weights(out, {k: np.full(s, step, np.float32) for k, s in SHAPES.items()}, step, CONFIG, [0, step])
    say({"wrote": step, "files": sorted(os.listdir(out))})
    step += 1
