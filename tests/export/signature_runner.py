"""Runs signatures of a SavedModel on given inputs, for the Deno tests beside it (one process, many calls).

stdin: {"export": DIR, "calls": [{"id", "signature", "inputs": {name: {"dtype", "shape", "values"}},
        "jit": bool, "grads_of": OUTPUT or null, "via": "signature" | "attribute"}]}
stdout (last line): {id: {"outputs": {name: [flat values]}, "grads": {variable: [flat values]}, "error": TEXT}}
A call that raises reports the exception's type and message as `error` (bad inputs are expected to).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def tensor(spec):
    return tf.constant(np.array(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"]))


def main():
    job = json.load(sys.stdin)
    module = tf.saved_model.load(job["export"])
    variables = {v.name.split(":")[0]: v for v in module.trainable_variables}
    report = {}
    for call in job["calls"]:
        # "via": "signature" (m.signatures[...], the SignatureDef path) or "attribute" (m.<name>, the
        # tf.function with an input signature, which TensorFlow binds and checks by name)
        fn = getattr(module, call["signature"]) if call.get("via") == "attribute" else module.signatures[call["signature"]]
        if call.get("jit"):
            fn = tf.function(fn, jit_compile=True)
        try:
            inputs = {k: tensor(v) for k, v in call["inputs"].items()}
            with tf.GradientTape() as tape:
                out = fn(**inputs)
            grads = {}
            if call.get("grads_of"):
                names = sorted(variables)
                gs = tape.gradient(out[call["grads_of"]], [variables[n] for n in names])
                grads = {n: (np.zeros(variables[n].shape) if g is None else tf.convert_to_tensor(g).numpy()).ravel().tolist() for n, g in zip(names, gs)}
            report[call["id"]] = {"outputs": {k: np.asarray(v.numpy()).astype(np.float64).ravel().tolist() for k, v in out.items()}, "grads": grads, "error": None}
        except Exception as e:  # noqa: BLE001 - the test inspects what was refused and how
            report[call["id"]] = {"outputs": {}, "grads": {}, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
