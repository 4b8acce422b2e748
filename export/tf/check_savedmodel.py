"""Checks an exported SavedModel in real TensorFlow and prints one JSON object with the findings.

Usage: python export/tf/check_savedmodel.py CASE.json [CASE.json ...]   (one JSON line per case)

CASE.json (written by the TypeScript tests, tests/export/*):
  {"export_dir": ..., "expected": "<bundle prefix>", "batch": ["x", ...],
   "outputs": {"forward": ["y"], ...}, "loss": {"signature": "loss", "key": "total"},
   "checks": ["outputs", "grads", "xla", "adam", "mirrored", "init",
              "cli", "tf1", "tflite", "resave", "fingerprint", "reference"],
   "adam_steps": 20, "lr": 1e-3, "init_std": {"<keyword>": std, ...}, "serving_default": "forward",
   "reference": {...}}   (reference: see _check_reference.py)
The expected bundle holds `batch/<name>`, `out/<signature>/<key>`, `grad/<param>` and, in inputs
mode, `param/<keyword>` (the TypeScript parameter values, fed in place of init's).

`cli`, `tf1`, `tflite`, `resave` and `fingerprint` run the other SavedModel consumers
(_check_tools.py) and report each output's error against the TypeScript values; `reference` diffs
the MetaGraphDef against the one TensorFlow writes for an equivalent Python module.

Each check reports numbers, not verdicts: the tests decide the tolerances. One process runs all
checks because importing TensorFlow takes seconds.
"""
import json
import os
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mirasol_tf as mt  # noqa: E402

mt.use_logical_cpus(2)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _check_reference  # noqa: E402
import _check_tools  # noqa: E402


def rel_err(got, want, floor=1e-12):
    """max |got - want| / max |want|; `floor` bounds the denominator for values that are ~0 by maths."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), floor))


def load_case(case):
    reader = tf.train.load_checkpoint(case["expected"])
    names = set(reader.get_variable_to_shape_map())
    get = lambda k: reader.get_tensor(k) if k in names else None  # noqa: E731
    batch = {n: tf.constant(get(f"batch/{n}")) for n in case["batch"]}
    return get, batch


def fresh_model(case, get, strategy=None):
    model = mt.load_model(case["export_dir"], seed=0, strategy=strategy)
    if model.mode == "inputs":  # use the TypeScript values so outputs and gradients are comparable
        for k, v in model.params.items():
            value = get(f"param/{k}")
            if value is not None:
                v.assign(value)
    return model


_STRATEGY = None


def two_cpu_strategy():
    """One MirroredStrategy over the 2 logical CPUs for the whole process: a second strategy object
    reuses collective instance keys, and its all-reduce then meets the first one's (shape mismatch)."""
    global _STRATEGY
    if _STRATEGY is None:
        _STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    return _STRATEGY


def run(case):
    report = {"tf_version": tf.__version__, "seconds": {}}
    clock = [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        report["seconds"][name] = round(now - clock[0], 2)
        clock[0] = now

    get, batch = load_case(case)
    model = fresh_model(case, get)
    report["mode"] = model.mode
    report["params"] = {k: list(v.shape) for k, v in model.params.items()}
    checks = set(case.get("checks", []))
    loss_sig, loss_key = case["loss"]["signature"], case["loss"]["key"]
    loss_of = lambda m: (lambda b: m.call(loss_sig, b)[loss_key])  # noqa: E731

    lap("load")
    if "outputs" in checks:
        report["outputs"] = {}
        for sig, keys in case["outputs"].items():
            out = model.call(sig, batch)
            report["outputs"][sig] = {k: rel_err(out[k].numpy(), get(f"out/{sig}/{k}")) for k in keys}
            report.setdefault("output_keys", {})[sig] = sorted(out.keys())

    lap("outputs")
    if "grads" in checks:
        with tf.GradientTape() as tape:
            loss = loss_of(model)(batch)
        names = sorted(model.params)
        grads = tape.gradient(loss, [model.params[k] for k in names])
        want = {k: get(f"grad/{k}") for k in names}
        # A gradient that is zero by maths (a key bias under softmax) is compared at the scale of
        # the largest gradient, else its float32 noise would look like a 100% error.
        floor = 1e-3 * max(float(np.max(np.abs(w))) for w in want.values() if w is not None and w.size)
        report["grads"] = {
            k: (rel_err(tf.convert_to_tensor(g).numpy(), want[k], floor) if g is not None and want[k] is not None else None)
            for k, g in zip(names, grads)
        }

    lap("grads")
    if "xla" in checks:
        variables = model.variables

        @tf.function(jit_compile=True)
        def loss_and_grads(b):
            with tf.GradientTape() as tape:
                loss = loss_of(model)(b)
            return loss, tape.gradient(loss, variables)

        hlo = loss_and_grads.experimental_get_compiler_ir(batch)(stage="hlo")
        loss, _ = loss_and_grads(batch)
        report["xla"] = {"loss": float(loss), "eager_loss": float(loss_of(model)(batch)), "hlo_chars": len(hlo)}

    lap("xla")
    if "adam" in checks:
        trained = fresh_model(case, get)
        step = mt.make_train_step(trained, loss_of(trained), lr=case.get("lr", 1e-3))
        report["adam"] = {"losses": [float(step(batch)) for _ in range(case.get("adam_steps", 20))]}

    lap("adam")
    if "mirrored" in checks:
        strategy = two_cpu_strategy()
        mirrored = fresh_model(case, get, strategy)
        single = fresh_model(case, get)
        lr = case.get("lr", 1e-3)
        m_step = mt.make_train_step(mirrored, loss_of(mirrored), strategy=strategy, lr=lr)
        s_step = mt.make_train_step(single, loss_of(single), lr=lr)
        m_losses = [float(m_step(batch)) for _ in range(3)]
        s_losses = [float(s_step(batch)) for _ in range(3)]
        diff = max(rel_err(mirrored.params[k].values[0].numpy() if hasattr(mirrored.params[k], "values") else mirrored.params[k].numpy(),
                           single.params[k].numpy()) for k in single.params)
        replica_diff = max(
            rel_err(mirrored.params[k].values[0].numpy(), mirrored.params[k].values[1].numpy()) for k in mirrored.params
        ) if all(hasattr(v, "values") for v in mirrored.params.values()) else None
        report["mirrored"] = {
            "replicas": strategy.num_replicas_in_sync,
            "losses": m_losses,
            "single_device_losses": s_losses,
            "param_rel_diff_vs_single": diff,
            "replica_rel_diff": replica_diff,
        }

    lap("mirrored")
    if "init" in checks and hasattr(model.module, "init"):
        a = model.module.init(seed=tf.constant(0))
        b = model.module.init(seed=tf.constant(0))
        c = model.module.init(seed=tf.constant(1))
        stds = case.get("init_std", {})
        report["init"] = {
            "keys": sorted(a.keys()),
            "shapes": {k: list(v.shape) for k, v in a.items()},
            "deterministic": all(bool(np.array_equal(a[k], b[k])) for k in a),
            "seed_changes": any(not np.array_equal(a[k], c[k]) for k in a if float(np.std(a[k].numpy())) > 0),
            "std": {k: float(np.std(a[k].numpy())) for k in a},
            "mean": {k: float(np.mean(a[k].numpy())) for k in a},
            "expected_std": stds,
        }
    lap("init")
    tools(case, get, model, checks, report, lap)
    return report


def tools(case, get, model, checks, report, lap):
    """The other consumers; each output's error is against `out/<signature>/<key>`."""
    feeds = {n: get(f"batch/{n}") for n in case["batch"]}
    if model.mode == "inputs":  # the params are signature inputs: feed TypeScript's values
        feeds.update({k: get(f"param/{k}") for k in model.params if get(f"param/{k}") is not None})
    served = case.get("serving_default", "forward")

    def feeds_of(sig):
        accepted = model.module.signatures[sig].structured_input_signature[1]
        return {k: v for k, v in feeds.items() if k in accepted}

    by_signature = {sig: feeds_of(sig) for sig in case["outputs"]}

    def errors(sig, got):
        if "error" in got:
            return {"error": got["error"]}
        got = got.get("outputs", got)
        return {k: (rel_err(got[k], get(f"out/{sig}/{k}")) if k in got else None) for k in case["outputs"][sig]}

    if "cli" in checks:
        report["cli"] = {"show": _check_tools.cli_show(case["export_dir"]),
                         "run": errors(served, _check_tools.cli_run(case["export_dir"], "serving_default", feeds_of(served)))}
    lap("cli")
    if "tf1" in checks:
        tf1 = _check_tools.tf1_session(case["export_dir"], {**by_signature, "serving_default": feeds_of(served)})
        outputs = tf1.pop("outputs")
        tf1["errors"] = {sig: errors(served if sig == "serving_default" else sig, got) for sig, got in outputs.items()}
        report["tf1"] = tf1
    lap("tf1")
    if "tflite" in checks:
        select = case.get("tflite_select_tf_ops", False)
        got = _check_tools.tflite(case["export_dir"], served, feeds_of(served), select)
        report["tflite"] = {"bytes": got.get("bytes", 0), "error": got.get("error"), "run_error": got.get("run_error"),
                            "errors": errors(served, got) if "outputs" in got else None}
    lap("tflite")
    if "resave" in checks:
        with tempfile.TemporaryDirectory() as tmp:
            again = _check_tools.resave(model.module, os.path.join(tmp, "resaved"), by_signature)
        report["resave"] = {"signatures": again["signatures"],
                            "errors": {sig: errors(sig, got) for sig, got in again["outputs"].items()}}
    lap("resave")
    if "fingerprint" in checks:
        report["fingerprint"] = _check_tools.fingerprint(case["export_dir"])
    lap("fingerprint")
    if "reference" in checks:
        report["reference"] = _check_reference.diff(case["export_dir"], case["reference"])
    lap("reference")


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            case = json.load(f)
        try:
            report = run(case)
        except Exception as e:  # report, don't crash: the test prints the reason
            report = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
