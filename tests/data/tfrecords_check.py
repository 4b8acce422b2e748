"""Reads what tests/data/tfrecords_test.ts wrote back with real TensorFlow.

usage: tfrecords_check.py PLAN_JSON RESULT_JSON
PLAN_JSON: {"datasets": [{"name", "files": [...], "expected": EXPECTED_JSON, "video": "float"|"png"}],
            "corrupt": [file, ...], "framing"?: {"payloads": [[byte, ...], ...], "out": path}}
Each dataset's records are parsed with tf.io.parse_single_example and compared with the expected
examples; each corrupt file is read to the end; the framing payloads are written with
tf.io.TFRecordWriter so the test can compare bytes. RESULT_JSON gets {"datasets": {name: "ok" |
error}, "corrupt": {file: error class name | "no error"}}.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

plan = json.load(open(sys.argv[1]))
result = {"datasets": {}, "corrupt": {}}

SPEC = {
    "id": tf.io.FixedLenFeature([], tf.string),
    "video/shape": tf.io.FixedLenFeature([4], tf.int64),
    "media_mask": tf.io.VarLenFeature(tf.int64),
    "audio": tf.io.VarLenFeature(tf.float32),
    "audio/shape": tf.io.FixedLenFeature([2], tf.int64),
    "has_audio": tf.io.FixedLenFeature([1], tf.int64),
    "fps": tf.io.FixedLenFeature([1], tf.float32),
    "text": tf.io.VarLenFeature(tf.int64),
    "text_mask": tf.io.VarLenFeature(tf.int64),
    "loss_mask": tf.io.VarLenFeature(tf.int64),
}


def dense(x):
    return tf.sparse.to_dense(x).numpy() if isinstance(x, tf.SparseTensor) else x.numpy()


def check(ds_plan):
    expected = json.load(open(ds_plan["expected"]))
    spec = dict(SPEC)
    if ds_plan["video"] == "float":
        spec["video"] = tf.io.VarLenFeature(tf.float32)
    else:
        spec["video/encoded"] = tf.io.VarLenFeature(tf.string)
    records = list(tf.data.TFRecordDataset(ds_plan["files"]))
    if len(records) != len(expected):
        return f"{len(records)} records, expected {len(expected)}"
    for rec, exp in zip(records, expected):
        ex = tf.io.parse_single_example(rec, spec)
        where = exp["id"]
        if ex["id"].numpy().decode() != exp["id"]:
            return f"id {ex['id'].numpy()!r} != {exp['id']!r}"
        shape = [int(v) for v in ex["video/shape"].numpy()]
        if shape != exp["videoShape"]:
            return f"{where}: video/shape {shape} != {exp['videoShape']}"
        want_video = np.asarray(exp["video"], dtype=np.float32).reshape(shape)
        if ds_plan["video"] == "float":
            got = dense(ex["video"]).reshape(shape)
            if not np.array_equal(got, want_video):
                return f"{where}: float video differs (max {np.abs(got - want_video).max()})"
        else:
            frames = dense(ex["video/encoded"])
            if len(frames) != shape[0]:
                return f"{where}: {len(frames)} PNG frames, expected {shape[0]}"
            want8 = np.floor(np.clip(want_video.astype(np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)
            for t, png in enumerate(frames):
                img = tf.io.decode_png(png, channels=3).numpy()
                if img.shape != tuple(shape[1:]) or not np.array_equal(img, want8[t]):
                    return f"{where}: PNG frame {t} differs from the rounded floats"
        checks = [("media_mask", "mediaMask", np.int64), ("audio", "audio", np.float32), ("text", "text", np.int64),
                  ("text_mask", "textMask", np.int64), ("loss_mask", "lossMask", np.int64)]
        for key, field, dtype in checks:
            got = dense(ex[key])
            if not np.array_equal(got, np.asarray(exp[field], dtype=dtype)):
                return f"{where}: {key} {got[:8]} != {exp[field][:8]}"
        if [int(v) for v in ex["audio/shape"].numpy()] != exp["audioShape"]:
            return f"{where}: audio/shape differs"
        if int(ex["has_audio"].numpy()[0]) != int(exp["hasAudio"]) or ex["fps"].numpy()[0] != np.float32(exp["fps"]):
            return f"{where}: has_audio/fps differ"
    return "ok"


for ds_plan in plan["datasets"]:
    try:
        result["datasets"][ds_plan["name"]] = check(ds_plan)
    except Exception as e:  # report, never crash: the Deno test shows the message
        result["datasets"][ds_plan["name"]] = f"{type(e).__name__}: {e}"

for path in plan["corrupt"]:
    try:
        for _ in tf.data.TFRecordDataset([path]):
            pass
        result["corrupt"][path] = "no error"
    except Exception as e:
        result["corrupt"][path] = type(e).__name__

framing = plan.get("framing")
if framing:
    with tf.io.TFRecordWriter(framing["out"]) as w:
        for payload in framing["payloads"]:
            w.write(bytes(payload))

json.dump(result, open(sys.argv[2], "w"))
