"""Reference gradients for tests/transforms/gradients_tf_test.ts, from TensorFlow's GradientTape.

Reads a JSON list of cases on stdin:
  [{"name", "op", "attrs": {...}, "inputs": [{"shape": [...], "data": [...]}, ...], "w": {"shape", "data"}}]
and prints {name: [gradient of sum(w * op(*inputs)) for each input, as a flat list]}.
float32 throughout; a float32 survives JSON exactly (it is a double).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

OPS = {
    "relu": lambda x, a: tf.nn.relu(x),
    "abs": lambda x, a: tf.abs(x),
    "leaky_relu": lambda x, a: tf.nn.leaky_relu(x, a["alpha"]),
    "relu6": lambda x, a: tf.nn.relu6(x),
    "elu": lambda x, a: tf.nn.elu(x),
    "selu": lambda x, a: tf.nn.selu(x),
    "clip": lambda x, a: tf.clip_by_value(x, a["lo"], a["hi"]),
    "maximum": lambda x, y, a: tf.maximum(x, y),
    "minimum": lambda x, y, a: tf.minimum(x, y),
    "max": lambda x, a: tf.reduce_max(x, axis=a.get("axis"), keepdims=a.get("keepDims", False)),
    "min": lambda x, a: tf.reduce_min(x, axis=a.get("axis"), keepdims=a.get("keepDims", False)),
    "prod": lambda x, a: tf.reduce_prod(x, axis=a.get("axis"), keepdims=a.get("keepDims", False)),
    "pow": lambda x, y, a: tf.pow(x, y),
    "where_greater": lambda x, y, a: tf.where(x > y, x, y),
    "floor_plus": lambda x, a: tf.floor(x) * x + tf.sign(x) * x,
    "strided_slice": lambda x, a: tf.strided_slice(
        x, a["begin"], a["end"], a["strides"], begin_mask=a["beginMask"], end_mask=a["endMask"],
        ellipsis_mask=a["ellipsisMask"], new_axis_mask=a["newAxisMask"], shrink_axis_mask=a["shrinkAxisMask"]),
    "gather": lambda x, a: tf.gather(x, tf.constant(a["indices"], shape=a["indicesShape"]), axis=a["axis"],
                                     batch_dims=a["batchDims"]),
    "cumsum": lambda x, a: tf.math.cumsum(x, axis=a["axis"], exclusive=a["exclusive"], reverse=a["reverse"]),
    "softmax_log": lambda x, a: tf.math.log(tf.nn.softmax(x)),
    "matmul": lambda x, y, a: tf.linalg.matmul(x, y, transpose_a=a["transposeA"], transpose_b=a["transposeB"]),
    "squared_difference": lambda x, y, a: tf.math.squared_difference(x, y),
    "erf_softplus_sigmoid": lambda x, a: tf.math.erf(x) + tf.nn.softplus(x) * tf.sigmoid(x),
    "tile": lambda x, a: tf.tile(x, a["reps"]),
}


def run(case):
    xs = [tf.constant(i["data"], shape=i["shape"], dtype=tf.float32) for i in case["inputs"]]
    w = tf.constant(case["w"]["data"], shape=case["w"]["shape"], dtype=tf.float32)
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        loss = tf.reduce_sum(w * OPS[case["op"]](*xs, case.get("attrs", {})))
    grads = tape.gradient(loss, xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [g.numpy().reshape(-1).astype(float).tolist() for g in grads]


print(json.dumps({case["name"]: run(case) for case in json.load(sys.stdin)}))
