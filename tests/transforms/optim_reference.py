"""Reference numbers for tests/transforms/optim_test.ts, from Keras 3 optimizers and numpy.

Reads a JSON job on stdin:
  {"params": {path: {"shape": [...], "data": [...]}}, "grads": [{path: [...]} per step],
   "cases": [{"name", "kind": "keras_adamw" | "keras_sgd" | "numpy_adamw", ...}],
   "schedule": {"init", "peak", "warmup", "decay", "end", "steps": [...]}}
and prints {"cases": {name: [{path: [...]} after each step]}, "schedule": [lr at each step]}.
Values are float32 throughout; JSON carries them exactly (a float32 is a double).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402,F401  (the Keras backend)


def cosine(s, total_steps):
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=float(s["init"]),
        decay_steps=total_steps - s["warmup"],
        alpha=float(s["end"]) / float(s["peak"]),
        warmup_target=float(s["peak"]),
        warmup_steps=s["warmup"],
    )


def keras_run(case, params, grads):
    paths = sorted(params)
    variables = {
        p: keras.Variable(np.array(params[p]["data"], np.float32).reshape(params[p]["shape"]), name=f"v{i}")
        for i, p in enumerate(paths)
    }
    lr = cosine(case["schedule"], case["schedule"]["decay"]) if "schedule" in case else case["lr"]
    if case["kind"] == "keras_adamw":
        opt = keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=case["wd"], beta_1=case["b1"], beta_2=case["b2"],
            epsilon=case["eps"], global_clipnorm=case.get("clip"),
        )
        opt.exclude_from_weight_decay(var_list=[variables[p] for p in paths if p not in case["decay"]])
    else:
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=float(case["momentum"]), nesterov=case["nesterov"])
    out = []
    for step in grads:
        pairs = [(np.array(step[p], np.float32).reshape(params[p]["shape"]), variables[p]) for p in paths]
        opt.apply_gradients(pairs)
        out.append({p: np.asarray(variables[p]).reshape(-1).astype(float).tolist() for p in paths})
    return out


def numpy_adamw(case, params, grads):
    """The decoupled AdamW of Loshchilov & Hutter with optax's/PyTorch's bias correction, in float32."""
    f = np.float32
    b1, b2, eps, lr, wd = f(case["b1"]), f(case["b2"]), f(case["eps"]), f(case["lr"]), f(case["wd"])
    p = {k: np.array(v["data"], f) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    out = []
    for t, step in enumerate(grads, start=1):
        for k in p:
            g = np.array(step[k], f)
            m[k] = b1 * m[k] + (f(1) - b1) * g
            v[k] = b2 * v[k] + (f(1) - b2) * g * g
            m_hat = m[k] / (f(1) - b1 ** f(t))
            v_hat = v[k] / (f(1) - b2 ** f(t))
            decay = wd * p[k] if k in case["decay"] else f(0)
            p[k] = p[k] - lr * (m_hat / (np.sqrt(v_hat) + eps) + decay)
        out.append({k: x.astype(float).tolist() for k, x in p.items()})
    return out


def main():
    job = json.load(sys.stdin)
    results = {}
    for case in job["cases"]:
        run = numpy_adamw if case["kind"] == "numpy_adamw" else keras_run
        results[case["name"]] = run(case, job["params"], job[case.get("grads", "grads")])
    s = job["schedule"]
    schedule = cosine(s, s["decay"])
    values = [float(np.float32(schedule(step))) for step in s["steps"]]
    json.dump({"cases": results, "schedule": values}, sys.stdout)


if __name__ == "__main__":
    main()
