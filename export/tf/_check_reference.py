"""Our MetaGraphDef against the one TensorFlow writes for the same model, field by field.

`build_reference` writes, with `tf.saved_model.save`, the Python module an export corresponds to:
an AutoTrackable root with a `params` tree of variables (variables mode), `trainable_variables`
and `variables` lists, one tf.function with an input signature per signature (plus `init(seed)` in
inputs mode), and signatures {serving_default: forward, <name>: <name>}. The model is the MLP of
tests/export (y = relu(x @ l1.w + l1.b) @ l2.w + l2.b; loss = mean cross-entropy of y).

`diff` reads both saved_model.pb files and compares every field a consumer reads, after mapping
what legitimately differs to the same value:
- function names (numeric suffixes are per process): by role, `attr:forward`, `signature:loss`,
  `save`, `restore`; wherever a name appears (call nodes' `f`, object graph, concrete functions);
- function bodies (ours are lowered from TypeScript, theirs traced from Python): their
  interfaces are compared (argument and result types, resource handle data, `_input_shapes`,
  `arg_attr` shapes and user names, statefulness), not their node lists; the outputs themselves
  are compared by value in the other checks;
- a resource argument's `_user_specified_name` (TF names it after a capture id);
- `config_proto` of call nodes (the saving process's device config), `graph_def.versions`
  (TF's build number; ours claims the older 1994 for older consumers) and
  `tensorflow_git_version` (ours is not a TensorFlow build);
- checkpoint keys (TF takes the first breadth-first path, `trainable_variables/0/...`; ours are
  `params/<path>/...`): compared as one key per variable plus the object graph;
- `stripped_op_list`: TF lists the ops of its own bodies; ours must list every op our graph and
  bodies use, each OpDef equal to TF 2.21's registry entry (documentation stripped).
Returns {"differences": [...], "ours": summary, "reference": summary}; no differences is the claim.
"""
from __future__ import annotations

import os
import tempfile

import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2, trackable_object_graph_pb2
from tensorflow.python.framework import op_def_registry
from tensorflow.python.trackable.autotrackable import AutoTrackable

DTYPES = {"float32": tf.float32, "int32": tf.int32}


def _keyword(path: str) -> str:
    return path.replace("/", "__")


def build_reference(spec: dict, out_dir: str) -> None:
    """spec: {"mode", "params": {path: [shape]}, "batch": B, "features": D, "classes": C}."""
    paths = sorted(spec["params"])
    B, D = spec["batch"], spec["features"]
    root = AutoTrackable()
    root.params = AutoTrackable()
    variables = {}
    if spec["mode"] == "variables":
        for path in paths:
            node = root.params
            *folders, leaf = path.split("/")
            for f in folders:
                if not hasattr(node, f):
                    setattr(node, f, AutoTrackable())
                node = getattr(node, f)
            variables[path] = tf.Variable(tf.zeros(spec["params"][path]), name=path)
            setattr(node, leaf, variables[path])
    root.trainable_variables = list(variables.values())
    root.variables = list(variables.values())

    def weights(kw):
        # Read every variable first, in path order, so captures follow our bound order.
        if spec["mode"] == "variables":
            return {p: tf.convert_to_tensor(variables[p]) for p in paths}
        return {p: kw[_keyword(p)] for p in paths}

    def mlp(w, x):
        h = tf.nn.relu(tf.matmul(x, w["l1/w"]) + w["l1/b"])
        return tf.matmul(h, w["l2/w"]) + w["l2/b"]

    def signed(name, body, specs):
        # Like our exports' module attributes: a tf.function with an input signature over named
        # positional arguments, so TensorFlow binds and checks every call against the specs.
        args = ", ".join(s.name for s in specs)
        scope = {"body": body}
        exec(f"def {name}({args}):\n    return body(dict({', '.join(f'{a}={a}' for a in args.split(', '))}))", scope)
        return tf.function(scope[name], input_signature=specs)

    def forward(kw):
        return {"y": mlp(weights(kw), kw["x"])}

    def loss(kw):
        y = mlp(weights(kw), kw["x"])
        return {"total": tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=kw["labels"], logits=y))}

    params = [] if spec["mode"] == "variables" else [
        tf.TensorSpec(spec["params"][p], tf.float32, name=_keyword(p)) for p in paths]
    x = tf.TensorSpec([B, D], tf.float32, name="x")
    labels = tf.TensorSpec([B], tf.int32, name="labels")
    root.forward = signed("forward", forward, params + [x])
    if spec["mode"] == "inputs":
        def init(kw):
            return {_keyword(p): tf.random.stateless_normal(spec["params"][p], tf.stack([kw["seed"], i]))
                    for i, p in enumerate(paths)}

        root.init = signed("init", init, [tf.TensorSpec([], tf.int32, name="seed")])
    root.loss = signed("loss", loss, params + [labels, x])
    forward_fn = root.forward.get_concrete_function()
    sigs = {"serving_default": forward_fn, "forward": forward_fn, "loss": root.loss.get_concrete_function()}
    tf.saved_model.save(root, out_dir, signatures=sigs)


def _read(export_dir: str):
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    return sm.meta_graphs[0]


def _roles(mg) -> dict:
    """function name -> its role (the first one, when a function serves several)."""
    roles = {}
    og = mg.object_graph_def
    root = og.nodes[0]
    for child in root.children:
        node = og.nodes[child.node_id]
        if node.WhichOneof("kind") == "bare_concrete_function":
            roles.setdefault(node.bare_concrete_function.concrete_function_name, f"attr:{child.local_name}")
        if node.WhichOneof("kind") == "function":
            for fn in node.function.concrete_functions:
                roles.setdefault(fn, f"attr:{child.local_name}")
        if child.local_name == "signatures":
            for sig in node.children:
                fn = og.nodes[sig.node_id].bare_concrete_function.concrete_function_name
                roles.setdefault(fn, f"signature:{sig.local_name}")
    by_name = {n.name: n for n in mg.graph_def.node}
    saver = mg.saver_def
    roles[by_name[saver.save_tensor_name.split(":")[0]].attr["f"].func.name] = "save"
    roles[by_name[saver.restore_op_name].attr["f"].func.name] = "restore"
    return roles


def _d(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _attrs(attr_map, roles, skip=()) -> dict:
    out = {}
    for k in sorted(attr_map):
        if k in skip:
            continue
        v = type(attr_map[k])()
        v.CopyFrom(attr_map[k])
        if v.HasField("func"):
            v.func.name = roles.get(v.func.name, v.func.name)
        out[k] = _d(v)
    return out


def _graph(mg, roles) -> dict:
    nodes = {}
    for n in mg.graph_def.node:
        skip = {"config_proto"}
        if n.op == "Const" and n.attr["dtype"].type == tf.string.as_datatype_enum:
            skip.add("value")  # the object graph: compared decoded, in _object_graph_const
        nodes[n.name] = {"op": n.op, "input": list(n.input), "device": n.device, "attr": _attrs(n.attr, roles, skip)}
    return nodes


def _function_interfaces(mg, roles) -> dict:
    out = {}
    for f in mg.graph_def.library.function:
        role = roles.get(f.signature.name)
        if role is None:
            continue  # a helper only our or their bodies call
        args = []
        for i, a in enumerate(f.signature.input_arg):
            arg_attr = _attrs(f.arg_attr[i].attr, roles) if i in f.arg_attr else {}
            if a.type == tf.resource.as_datatype_enum:
                arg_attr.pop("_user_specified_name", None)
            args.append({"type": a.type, "handle_data": [_d(h) for h in a.handle_data], "arg_attr": arg_attr})
        out[role] = {
            "inputs": args,
            "outputs": [a.type for a in f.signature.output_arg],
            "is_stateful": f.signature.is_stateful,
            "has_control_outputs": len(f.signature.control_output) > 0,
            "attr": _attrs(f.attr, roles),
            "resource_arg_unique_id": dict(f.resource_arg_unique_id),
        }
    return out


def _object_graph(mg, roles) -> dict:
    og = type(mg.object_graph_def)()
    og.CopyFrom(mg.object_graph_def)
    for node in og.nodes:
        if node.WhichOneof("kind") == "bare_concrete_function":
            fn = node.bare_concrete_function
            fn.concrete_function_name = roles.get(fn.concrete_function_name, fn.concrete_function_name)
        if node.WhichOneof("kind") == "function":
            names = [roles.get(n, n) for n in node.function.concrete_functions]
            del node.function.concrete_functions[:]
            node.function.concrete_functions.extend(names)
    functions = {roles.get(k, k): _d(v) for k, v in og.concrete_functions.items()}
    return {"nodes": [_d(n) for n in og.nodes], "concrete_functions": functions}


def _trackable(serialized: bytes) -> list:
    g = trackable_object_graph_pb2.TrackableObjectGraph()
    g.ParseFromString(serialized)
    for node in g.nodes:
        for a in node.attributes:
            a.ClearField("checkpoint_key")  # legitimately differs: see the module doc
    return [_d(n) for n in g.nodes]


def _checkpoint(export_dir: str) -> dict:
    reader = tf.train.load_checkpoint(os.path.join(export_dir, "variables", "variables"))
    keys = reader.get_variable_to_shape_map()
    return {
        "object_graph": _trackable(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")),
        "variables": sorted(tuple(s) for k, s in keys.items() if k != "_CHECKPOINTABLE_OBJECT_GRAPH"),
        "has_object_graph": "_CHECKPOINTABLE_OBJECT_GRAPH" in keys,
    }


def _used_ops(mg) -> set:
    ops = {n.op for n in mg.graph_def.node}
    for f in mg.graph_def.library.function:
        ops |= {n.op for n in f.node_def}
    return ops


def _registry_op(name: str):
    op = op_def_registry.get(name)
    if op is None:
        return None
    op = type(op)()
    op.CopyFrom(op_def_registry.get(name))
    op.ClearField("summary")
    op.ClearField("description")
    for a in list(op.input_arg) + list(op.output_arg) + list(op.attr):
        a.ClearField("description")
    return op


def _compare(a, b, path: str, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{path}/{k}: missing in ours (reference: {str(b[k])[:200]})")
            elif k not in b:
                out.append(f"{path}/{k}: only in ours ({str(a[k])[:200]})")
            else:
                _compare(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: ours {str(a)[:300]} != reference {str(b)[:300]}")


def diff(export_dir: str, spec: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ref_dir = os.path.join(tmp, "reference")
        build_reference(spec, ref_dir)
        ours, theirs = _read(export_dir), _read(ref_dir)
        views = []
        for mg, d in ((ours, export_dir), (theirs, ref_dir)):
            roles = _roles(mg)
            const = next(n for n in mg.graph_def.node if n.op == "Const" and n.attr["dtype"].type == tf.string.as_datatype_enum)
            views.append({
                "meta_info_def": {"tags": list(mg.meta_info_def.tags), "tensorflow_version": mg.meta_info_def.tensorflow_version,
                                  "stripped_default_attrs": mg.meta_info_def.stripped_default_attrs},
                "graph_nodes": _graph(mg, roles),
                "functions": _function_interfaces(mg, roles),
                "saver_def": _d(mg.saver_def),
                "collection_def": {k: _d(v) for k, v in mg.collection_def.items()},
                "signature_def": {k: _d(v) for k, v in mg.signature_def.items()},
                "object_graph_def": _object_graph(mg, roles),
                "object_graph_const": _trackable(const.attr["value"].tensor.string_val[0]),
                "checkpoint": _checkpoint(d),
                "fingerprint_file": os.path.exists(os.path.join(d, "fingerprint.pb")),
                "roles": sorted(set(roles.values())),
            })
        differences: list = []
        _compare(views[0], views[1], "", differences)
        # stripped_op_list: every op we use, with TF 2.21's own OpDef.
        listed = {op.name: op for op in ours.meta_info_def.stripped_op_list.op}
        for name in sorted(_used_ops(ours)):
            if name not in listed:
                differences.append(f"/meta_info_def/stripped_op_list: {name} is used but not listed")
            elif listed[name] != _registry_op(name):
                differences.append(f"/meta_info_def/stripped_op_list/{name}: differs from TF 2.21's registry")
        if list(listed) != sorted(listed):
            differences.append("/meta_info_def/stripped_op_list: not sorted by name")
        return {
            "differences": differences,
            "functions": {"ours": len(ours.graph_def.library.function), "reference": len(theirs.graph_def.library.function)},
            "graph_nodes": {"ours": len(ours.graph_def.node), "reference": len(theirs.graph_def.node)},
            "roles": views[0]["roles"],
        }
