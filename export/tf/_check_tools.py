"""The SavedModel consumers other than `tf.saved_model.load`, run on an export (check_savedmodel.py).

Each returns what it saw (values, names, errors as text), never a verdict: the Deno tests decide.
- cli: `saved_model_cli show --all` (the signatures and their inputs/outputs it lists) and
  `saved_model_cli run` on serving_default (its outputs), the real command in a subprocess;
- tf1: `tf.compat.v1.saved_model.loader.load` with tag `serve` in a Session, the path that mirrors
  the C++ LoadSavedModel of TF Serving: restore through saver_def, then every signature by its
  TensorInfo names;
- tflite: `TFLiteConverter.from_saved_model` of one signature, run by the TFLite interpreter;
- resave: `tf.saved_model.save` of the loaded model, loaded again: its signatures and outputs;
- fingerprint: fingerprint.pb against TensorFlow's own CreateFingerprintDef of the directory.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
SERVE = "serve"


def _quiet_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def cli_show(export_dir: str) -> dict:
    """Signatures, inputs and outputs as `saved_model_cli show --all` prints them."""
    p = subprocess.run([CLI, "show", "--all", "--dir", export_dir], capture_output=True, text=True, env=_quiet_env())
    found: dict = {}
    current = None
    for line in p.stdout.splitlines():
        m = re.match(r"signature_def\['(.+)'\]:", line)
        if m:
            current = found.setdefault(m.group(1), {"inputs": [], "outputs": []})
            continue
        m = re.match(r"\s+(inputs|outputs)\['(.+)'\] tensor_info:", line)
        if m and current is not None:
            current[m.group(1)].append(m.group(2))
    return {"returncode": p.returncode, "signatures": found, "stderr_tail": p.stderr[-2000:] if p.returncode else ""}


def cli_run(export_dir: str, signature: str, feeds: dict) -> dict:
    """`saved_model_cli run --signature_def <signature>`: the outputs it saves, by key."""
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "inputs.npz")
        np.savez(npz, **feeds)
        inputs = ";".join(f"{k}={npz}[{k}]" for k in sorted(feeds))
        out = os.path.join(tmp, "out")
        p = subprocess.run(
            [CLI, "run", "--dir", export_dir, "--tag_set", SERVE, "--signature_def", signature, "--inputs", inputs,
             "--outdir", out, "--overwrite"],
            capture_output=True, text=True, env=_quiet_env())
        if p.returncode != 0:
            return {"error": f"saved_model_cli run exited {p.returncode}: {p.stderr[-3000:]}"}
        return {"outputs": {f[:-4]: np.load(os.path.join(out, f)) for f in sorted(os.listdir(out))}}


def tf1_session(export_dir: str, feeds_by_signature: dict) -> dict:
    """Loads with the TF1 session loader and runs each signature; counts what the graph restored."""
    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, [SERVE], export_dir)
        report = {
            "signatures": sorted(meta.signature_def),
            "var_handles": sum(1 for op in graph.get_operations() if op.type == "VarHandleOp"),
            "ops": len(graph.get_operations()),
            "has_saver": bool(meta.saver_def.restore_op_name),
            "outputs": {},
        }
        for name, feeds in feeds_by_signature.items():
            sig = meta.signature_def[name]
            feed = {sig.inputs[k].name: v for k, v in feeds.items() if k in sig.inputs}
            missing = sorted(set(sig.inputs) - set(feeds))
            if missing:
                report["outputs"][name] = {"error": f"no feed for inputs {missing}"}
                continue
            fetch = {k: t.name for k, t in sig.outputs.items()}
            report["outputs"][name] = sess.run(fetch, feed)
    return report


def tflite(export_dir: str, signature: str, feeds: dict, select_tf_ops: bool = False) -> dict:
    """Converts one signature, with TFLite's builtin ops only unless `select_tf_ops` (TensorFlow
    kernels for the rest: TFLite has no bfloat16 kernels), and runs it in the interpreter."""
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(export_dir, signature_keys=[signature])
        if select_tf_ops:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        flat = converter.convert()
    except Exception as e:  # the message is the finding
        return {"error": f"{type(e).__name__}: {str(e)[-3000:]}"}
    try:
        runner = tf.lite.Interpreter(model_content=flat).get_signature_runner(signature)
        return {"bytes": len(flat), "outputs": runner(**feeds)}
    except RuntimeError as e:  # TF Select ops need the Flex delegate, which the pip wheel lacks
        return {"bytes": len(flat), "run_error": str(e)[-1000:]}


def resave(loaded, out_dir: str, feeds_by_signature: dict) -> dict:
    """Saves the loaded model with TensorFlow, loads that, and runs its signatures."""
    tf.saved_model.save(loaded, out_dir, signatures=dict(loaded.signatures))
    again = tf.saved_model.load(out_dir)
    outputs = {}
    for name, feeds in feeds_by_signature.items():
        fn = again.signatures[name]
        accepted = set(fn.structured_input_signature[1])
        outputs[name] = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items() if k in accepted}).items()}
    return {"signatures": sorted(again.signatures), "outputs": outputs}


def fingerprint(export_dir: str) -> dict:
    """Our fingerprint.pb field by field against TensorFlow's CreateFingerprintDef (the uuid is random)."""
    from tensorflow.core.protobuf import fingerprint_pb2
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    ours = fingerprint_pb2.FingerprintDef()
    with open(os.path.join(export_dir, "fingerprint.pb"), "rb") as f:
        ours.ParseFromString(f.read())
    theirs = fingerprint_pb2.FingerprintDef()
    theirs.ParseFromString(fingerprinting.CreateFingerprintDef(export_dir))
    fields = ["saved_model_checksum", "graph_def_program_hash", "signature_def_hash", "saved_object_graph_hash",
              "checkpoint_hash"]
    read = tf.saved_model.experimental.read_fingerprint(export_dir)
    return {
        "differ": [f for f in fields if getattr(ours, f) != getattr(theirs, f)],
        "version": [ours.version.producer, theirs.version.producer],
        "uuid_digits": len(ours.uuid),
        "singleprint": read.singleprint(),
    }
