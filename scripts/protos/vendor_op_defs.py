"""Writes formats/protos/tensorflow/op_defs.ts: TensorFlow 2.21.0's OpDefs for the ops an export
may emit, from the installed wheel's op registry.

The export needs them for `meta_info_def.stripped_op_list` (TensorFlow lists the OpDef of every op a
MetaGraphDef uses, so an older consumer can drop attrs it does not know) and to check its own nodes
(an attr the op does not declare, a required attr left out, an output name the op does not have).
The ops are those of the op modules below, the ones a lowered model, its initialiser and the saver
can use; their OpDefs are stored as a serialized OpList in base64, with documentation stripped as
the registry itself serves them.

Usage: python scripts/protos/vendor_op_defs.py OUT_FILE
"""
from __future__ import annotations

import base64
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import op_def_pb2  # noqa: E402
from tensorflow.python.framework import op_def_registry  # noqa: E402

MODULES = [
    "array_ops", "bitwise_ops", "control_flow_ops", "functional_ops", "io_ops", "linalg_ops", "math_ops",
    "nn_ops", "resource_variable_ops", "special_math_ops", "spectral_ops", "stateless_random_ops",
    "stateless_random_ops_v2", "string_ops",
]


def stripped(name: str) -> op_def_pb2.OpDef:
    op = op_def_pb2.OpDef()
    op.CopyFrom(op_def_registry.get(name))
    op.ClearField("summary")
    op.ClearField("description")
    for a in list(op.input_arg) + list(op.output_arg) + list(op.attr):
        a.ClearField("description")
    return op


def main() -> None:
    wanted = {f"tensorflow.python.ops.gen_{m}" for m in MODULES}
    names = sorted(n for n in dir(tf.raw_ops)
                   if getattr(getattr(tf.raw_ops, n), "__module__", "") in wanted and op_def_registry.get(n) is not None)
    ops = op_def_pb2.OpList(op=[stripped(n) for n in names])
    data = base64.b64encode(ops.SerializeToString(deterministic=True)).decode()
    lines = [data[i:i + 100] for i in range(0, len(data), 100)]
    with open(sys.argv[1], "w") as f:
        modules = "\n".join(f"//   gen_{m}" for m in MODULES)
        f.write(f"""// TensorFlow {tf.__version__} wheel: the op registry's OpDefs (documentation stripped) of the ops in
// these modules of tensorflow.python.ops:
{modules}
// Written by scripts/protos/vendor_op_defs.py (`deno task protos`); a serialized OpList, base64.
// deno-lint-ignore-file
export const TF_OPS_VERSION = "{tf.__version__}";
export const TF_OPS_COUNT = {len(names)};
export const TF_OP_LIST_BASE64 = [
""")
        for line in lines:
            f.write(f'  "{line}",\n')
        f.write('].join("");\n')
    print(f"wrote {len(names)} OpDefs ({len(data)} base64 chars) to {sys.argv[1]}")


if __name__ == "__main__":
    main()
