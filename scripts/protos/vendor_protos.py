"""Writes the vendored .proto schemas under formats/protos/ from the installed wheels.

TensorFlow 2.21.0's wheel ships every schema the export needs as a serialized FileDescriptorProto
inside its *_pb2.py modules, and the sentencepiece wheel ships sentencepiece_model_pb2; this script
prints those descriptors back as .proto text (comments are not in the descriptors, so they are not
in the output). Then `buf build` compiles the printed files and every descriptor is compared with
the wheel's: a printer bug fails here rather than as a wrong field number at run time.

Usage: python scripts/protos/vendor_protos.py OUT_DIR BUF
  OUT_DIR  where the .proto tree goes (formats/protos, or a temp dir to check for drift)
  BUF      the buf binary (node_modules/.bin/buf)

The pb2 modules are imported without running tensorflow/__init__.py (which imports all of
TensorFlow, seconds of start-up): a stub `tensorflow` package points at the wheel's folder.
"""
from __future__ import annotations

import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import types

from google.protobuf import descriptor_pb2

SITE = next(p for p in sys.path if p.endswith("site-packages"))
_stub = types.ModuleType("tensorflow")
_stub.__path__ = [os.path.join(SITE, "tensorflow")]
sys.modules.setdefault("tensorflow", _stub)

# The roots; their imports are followed. google/protobuf/* are buf's well-known types.
TF_MODULES = [
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.fingerprint_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.core.protobuf.trackable_object_graph_pb2",
    "tensorflow.core.example.example_pb2",
]
SENTENCEPIECE = ("sentencepiece.sentencepiece_model_pb2", "sentencepiece/sentencepiece_model.proto")
TF_VERSION = "2.21.0"

FDP = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    FDP.TYPE_DOUBLE: "double", FDP.TYPE_FLOAT: "float", FDP.TYPE_INT64: "int64", FDP.TYPE_UINT64: "uint64",
    FDP.TYPE_INT32: "int32", FDP.TYPE_FIXED64: "fixed64", FDP.TYPE_FIXED32: "fixed32", FDP.TYPE_BOOL: "bool",
    FDP.TYPE_STRING: "string", FDP.TYPE_BYTES: "bytes", FDP.TYPE_UINT32: "uint32", FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64", FDP.TYPE_SINT32: "sint32", FDP.TYPE_SINT64: "sint64",
}
MAX_FIELD = 536870911


def quote(s: str | bytes) -> str:
    raw = s.encode("utf-8") if isinstance(s, str) else s
    out = []
    for b in raw:
        c = chr(b)
        if c in "\"\\":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def option_value(field, value) -> str:
    if field.type == field.TYPE_STRING:
        return quote(value)
    if field.type == field.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == field.TYPE_ENUM:
        return field.enum_type.values_by_number[value].name
    return str(value)


def options_of(opts) -> list[tuple[str, str]]:
    out = []
    for field, value in opts.ListFields():
        if field.is_extension:
            raise SystemExit(f"custom option {field.full_name} is not printed by this script")
        if field.is_repeated:
            raise SystemExit(f"repeated option {field.full_name} is not printed by this script")
        out.append((field.name, option_value(field, value)))
    return out


def type_name(name: str, package: str) -> str:
    """A fully qualified `.pkg.Msg` as written in the file: relative to the package when inside it."""
    name = name.lstrip(".")
    if package and name.startswith(package + "."):
        return name[len(package) + 1:]
    return "." + name


class Printer:
    def __init__(self, fd: descriptor_pb2.FileDescriptorProto):
        self.fd = fd
        self.lines: list[str] = []
        self.proto3 = fd.syntax == "proto3"
        self.entries = {}  # full name of a map entry message -> its DescriptorProto

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text if text else "")

    def field_type(self, f) -> str:
        if f.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM, FDP.TYPE_GROUP):
            return type_name(f.type_name, self.fd.package)
        return SCALARS[f.type]

    def field_line(self, f, in_oneof: bool) -> str:
        entry = self.entries.get(f.type_name.lstrip(".")) if f.type == FDP.TYPE_MESSAGE else None
        if entry is not None and f.label == FDP.LABEL_REPEATED:
            k, v = entry.field
            head = f"map<{self.field_type(k)}, {self.field_type(v)}>"
        else:
            label = ""
            if not in_oneof:
                if f.label == FDP.LABEL_REPEATED:
                    label = "repeated "
                elif f.label == FDP.LABEL_REQUIRED:
                    label = "required "
                elif not self.proto3 or f.proto3_optional:
                    label = "optional "
            head = label + self.field_type(f)
        opts = []
        if f.HasField("default_value"):
            if f.type == FDP.TYPE_STRING:
                opts.append(("default", quote(f.default_value)))
            elif f.type == FDP.TYPE_BYTES:
                opts.append(("default", '"' + f.default_value + '"'))  # already C-escaped
            else:
                opts.append(("default", f.default_value))
        if f.HasField("json_name") and f.json_name != default_json_name(f.name):
            opts.append(("json_name", quote(f.json_name)))
        opts += options_of(f.options)
        suffix = " [" + ", ".join(f"{k} = {v}" for k, v in opts) + "]" if opts else ""
        return f"{head} {f.name} = {f.number}{suffix};"

    def enum(self, e, depth: int) -> None:
        self.emit(depth, f"enum {e.name} {{")
        for k, v in options_of(e.options):
            self.emit(depth + 1, f"option {k} = {v};")
        for v in e.value:
            opts = options_of(v.options)
            suffix = " [" + ", ".join(f"{k} = {x}" for k, x in opts) + "]" if opts else ""
            self.emit(depth + 1, f"{v.name} = {v.number}{suffix};")
        self.reserved(e, depth + 1, enum=True)
        self.emit(depth, "}")

    def reserved(self, d, depth: int, enum: bool = False) -> None:
        # Message ranges are [start, end) in descriptors, enum ranges [start, end].
        for r in d.reserved_range:
            end = r.end if enum else r.end - 1
            top = 2147483647 if enum else MAX_FIELD
            self.emit(depth, f"reserved {r.start};" if end == r.start else f"reserved {r.start} to {'max' if end == top else end};")
        if d.reserved_name:
            self.emit(depth, "reserved " + ", ".join(quote(n) for n in d.reserved_name) + ";")

    def message(self, m, depth: int, scope: str) -> None:
        full = f"{scope}.{m.name}"
        for n in m.nested_type:
            if n.options.map_entry:
                self.entries[f"{full}.{n.name}"] = n
        self.emit(depth, f"message {m.name} {{")
        for k, v in options_of(m.options):
            self.emit(depth + 1, f"option {k} = {v};")
        for e in m.enum_type:
            self.enum(e, depth + 1)
        synthetic = {f.oneof_index for f in m.field if f.HasField("oneof_index") and f.proto3_optional}
        real_oneofs = {f.oneof_index for f in m.field if f.HasField("oneof_index") and f.oneof_index not in synthetic}
        printed = [0]  # fields printed so far

        def fields_through(stop: int) -> None:
            i = printed[0]
            while i < stop:
                f = m.field[i]
                if f.HasField("oneof_index") and f.oneof_index in real_oneofs:
                    o = f.oneof_index
                    self.emit(depth + 1, f"oneof {m.oneof_decl[o].name} {{")
                    for k, v in options_of(m.oneof_decl[o].options):
                        self.emit(depth + 2, f"option {k} = {v};")
                    while i < len(m.field) and m.field[i].HasField("oneof_index") and m.field[i].oneof_index == o:
                        self.emit(depth + 2, self.field_line(m.field[i], True))
                        i += 1
                    self.emit(depth + 1, "}")
                else:
                    self.emit(depth + 1, self.field_line(f, False))
                    i += 1
            printed[0] = max(i, stop)

        # A map field's entry message takes its place among the nested messages where the field is
        # declared, so fields are printed up to each map field as its entry comes up.
        for n in m.nested_type:
            if n.options.map_entry:
                at = next(i for i, f in enumerate(m.field) if f.type_name.lstrip(".") == f"{full}.{n.name}")
                fields_through(at + 1)
            else:
                self.message(n, depth + 1, full)
        fields_through(len(m.field))
        for r in m.extension_range:
            end = r.end - 1
            self.emit(depth + 1, f"extensions {r.start} to {'max' if end == MAX_FIELD else end};")
        self.reserved(m, depth + 1)
        self.emit(depth, "}")

    def file(self, source: str) -> str:
        fd = self.fd
        self.emit(0, f"// {source}")
        self.emit(0, "// Printed from the wheel's descriptor by scripts/protos/vendor_protos.py (`deno task protos`).")
        self.emit(0, "// Descriptors carry no comments: the upstream file documents each field.")
        self.emit(0, f'syntax = "{fd.syntax or "proto2"}";')
        self.emit(0, "")
        if fd.package:
            self.emit(0, f"package {fd.package};")
            self.emit(0, "")
        for d in fd.dependency:
            self.emit(0, f'import "{d}";')
        if fd.dependency:
            self.emit(0, "")
        for k, v in options_of(fd.options):
            self.emit(0, f"option {k} = {v};")
        if fd.options.ListFields():
            self.emit(0, "")
        scope = "." + fd.package if fd.package else ""
        for m in fd.message_type:
            self.message(m, 0, scope.lstrip("."))
            self.emit(0, "")
        for e in fd.enum_type:
            self.enum(e, 0)
            self.emit(0, "")
        if fd.service or fd.extension:
            raise SystemExit(f"{fd.name}: services and extensions are not printed by this script")
        return "\n".join(self.lines).rstrip() + "\n"


def default_json_name(name: str) -> str:
    out, up = [], False
    for c in name:
        if c == "_":
            up = True
        else:
            out.append(c.upper() if up else c)
            up = False
    return "".join(out)


def collect() -> dict[str, tuple[descriptor_pb2.FileDescriptorProto, str]]:
    """name in the vendored tree -> (descriptor, where it came from)."""
    found: dict[str, tuple[descriptor_pb2.FileDescriptorProto, str]] = {}

    def walk(fd) -> None:
        if fd.name in found or fd.name.startswith("google/protobuf/"):
            return
        for d in fd.dependencies:
            walk(d)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        found[fd.name] = (proto, f"TensorFlow {TF_VERSION} wheel, {fd.name}")

    for m in TF_MODULES:
        walk(importlib.import_module(m).DESCRIPTOR)
    sp_module, sp_name = SENTENCEPIECE
    sp = importlib.import_module(sp_module)
    proto = descriptor_pb2.FileDescriptorProto()
    sp.DESCRIPTOR.CopyToProto(proto)
    version = importlib.import_module("sentencepiece").__version__
    found[sp_name] = (proto, f"sentencepiece {version} wheel, {sp.DESCRIPTOR.name}")
    return found


def normalized(fd: descriptor_pb2.FileDescriptorProto, name: str) -> descriptor_pb2.FileDescriptorProto:
    """What must survive printing: everything but the file name, source info and default json names."""
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(fd)
    out.name = name
    out.ClearField("source_code_info")
    if out.syntax == "proto2":
        out.ClearField("syntax")

    def clean(m) -> None:
        for f in m.field:
            if f.json_name == default_json_name(f.name):
                f.ClearField("json_name")
            if f.type == FDP.TYPE_FLOAT and f.HasField("default_value"):
                # protoc writes 9 significant digits, buf the shortest double that rounds to the float
                f.default_value = repr(struct.unpack("<f", struct.pack("<f", float(f.default_value)))[0])
        for n in m.nested_type:
            clean(n)

    for m in out.message_type:
        clean(m)
    return out


def main() -> None:
    out_dir, buf = sys.argv[1], sys.argv[2]
    files = collect()
    os.makedirs(out_dir, exist_ok=True)
    # Both wheels are Apache-2.0 (sentencepiece's METADATA: "License-Expression: Apache-2.0"; it
    # ships no licence file), and TensorFlow's wheel carries the licence text.
    shutil.copyfile(os.path.join(SITE, "tensorflow", "include", "LICENSE"), os.path.join(out_dir, "LICENSE"))
    for name, (fd, source) in files.items():
        path = os.path.join(out_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(Printer(fd).file(source))
    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "image.binpb")
        subprocess.run([buf, "build", out_dir, "--as-file-descriptor-set", "-o", image], check=True)
        built = descriptor_pb2.FileDescriptorSet()
        with open(image, "rb") as f:
            built.ParseFromString(f.read())
    by_name = {fd.name: fd for fd in built.file}
    bad = []
    for name, (fd, _) in files.items():
        got = by_name.get(name)
        if got is None or normalized(got, name) != normalized(fd, name):
            bad.append(name)
    if bad:
        raise SystemExit(f"printed .proto files compile to different descriptors than the wheel's: {bad}")
    print(f"vendored {len(files)} .proto files into {out_dir}; each compiles to the wheel's descriptor")


if __name__ == "__main__":
    main()
