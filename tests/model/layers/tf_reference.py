"""Reference outputs for tests/model/layers/tf_reference_test.ts, from Keras 3 / TensorFlow layers.

Reads a JSON job on stdin: {"cases": [{"name", "kind", "params": {path: {"shape", "data"}},
"inputs": {name: {"shape", "data"}}, ...}]} and prints {name: flat output list}. Our weight layout
is Keras' own ([D, H, Dh] q/k/v kernels, [H, Dh, D] output kernel), so weights load unchanged.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def arr(t):
    return np.array(t["data"], np.float32).reshape(t["shape"])


def mha(params, prefix, heads, head_dim, query, source, mask):
    layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=head_dim, value_dim=head_dim)
    layer(query, source, source)  # builds the weights from the input widths
    names = ["q/w", "q/b", "k/w", "k/b", "v/w", "v/b", "out/w", "out/b"]
    layer.set_weights([arr(params[f"{prefix}{n}"]) for n in names])
    return layer(query, source, source, attention_mask=mask)


def layer_norm(params, prefix, x):
    ln = keras.layers.LayerNormalization(epsilon=1e-6)
    ln.build(x.shape)
    ln.set_weights([arr(params[f"{prefix}scale"]), arr(params[f"{prefix}bias"])])
    return ln(x)


def dense(params, prefix, x, activation=None):
    w = arr(params[f"{prefix}w"])
    layer = keras.layers.Dense(w.shape[-1], activation=activation)
    layer.build(x.shape)
    layer.set_weights([w, arr(params[f"{prefix}b"])])
    return layer(x)


def mlp(params, prefix, x, approximate=False):
    h = tf.nn.gelu(dense(params, f"{prefix}fc1/", x), approximate=approximate)
    return dense(params, f"{prefix}fc2/", h)


def sincos_1d(dim, pos):
    """TubeViT/MAE get_1d_sincos_pos_embed_from_grid."""
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", np.asarray(pos, np.float64).reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def run(case):
    p, i, kind = case["params"], {k: arr(v) for k, v in case["inputs"].items()}, case["kind"]
    if kind == "attention":
        mask = i["mask"].astype(bool) if "mask" in i else None
        if mask is not None:
            mask = np.broadcast_to(mask, (i["x"].shape[0],) + mask.shape[-2:])
        source = i.get("context", i["x"])
        return mha(p, "", case["heads"], case["headDim"], i["x"], source, mask)
    if kind == "layer_norm":
        return layer_norm(p, "", i["x"])
    if kind == "mlp":
        return mlp(p, "", i["x"])
    if kind == "block":
        x, mask = i["x"], np.broadcast_to(i["mask"].astype(bool), (i["x"].shape[0],) + i["mask"].shape)
        x = x + mha(p, "attn/", case["heads"], case["headDim"], layer_norm(p, "ln1/", x), layer_norm(p, "ln1/", x), mask)
        if "context" in i:
            x = x + mha(p, "cross/", case["heads"], case["headDim"], layer_norm(p, "ln_cross/", x), i["context"], None)
        return x + mlp(p, "mlp/", layer_norm(p, "ln2/", x))
    if kind == "token_learner":
        # scenic TokenLearnerModuleV11.__call__
        x = i["x"]
        selected = mlp(p, "mlp/", layer_norm(p, "ln/", x), approximate=True)  # [B, N, S]
        selected = tf.nn.softmax(tf.transpose(selected, [0, 2, 1]), axis=-1)  # [B, S, N]
        return tf.einsum("...si,...id->...sd", selected, x)
    if kind == "sincos3d":
        c, d = np.asarray(case["centres"], np.float64), case["dim"]
        return np.concatenate([sincos_1d(d // 3, c[:, a]) for a in range(3)], axis=1)
    raise ValueError(f"unknown kind {kind}")


job = json.load(sys.stdin)
out = {c["name"]: np.asarray(run(c), np.float64).reshape(-1).tolist() for c in job["cases"]}
json.dump(out, sys.stdout)
