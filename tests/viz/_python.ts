/**
 * Independent checks in Python for the viz tests: PNG decoding (PIL when /usr/bin/python3 has it,
 * and always a manual parse with zlib that verifies every CRC) and XML well-formedness with
 * xml.etree (expat). One Python process per call, fed and answering JSON.
 */

const PYTHONS = ["/usr/bin/python3", "python3"];

async function python(): Promise<string> {
  for (const py of PYTHONS) {
    const ok = await new Deno.Command(py, {
      args: ["-c", "import zlib, xml.etree.ElementTree"],
      stdout: "null",
      stderr: "null",
    })
      .output().then((o) => o.success).catch(() => false);
    if (ok) return py;
  }
  throw new Error("Cannot run the Python checks: no python3 found");
}

async function runPython<T>(script: string, input: unknown): Promise<T> {
  const child = new Deno.Command(await python(), {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`Python check failed: ${stderr}`);
  return JSON.parse(stdout) as T;
}

const DECODE_PNG = String.raw`
import base64, json, struct, sys, zlib
def manual(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
    pos, idat, ihdr, chunks = 8, b"", None, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]; (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in " + kind.decode()
        chunks.append(kind.decode())
        if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
        if kind == b"IDAT": idat += body
        pos += 12 + length
    assert chunks[0] == "IHDR" and chunks[-1] == "IEND", chunks
    w, h, depth, color, comp, filt, interlace = ihdr
    assert depth == 8 and comp == 0 and filt == 0 and interlace == 0, ihdr
    channels = {0: 1, 2: 3, 6: 4}[color]
    raw = zlib.decompress(idat); stride = w * channels
    assert len(raw) == h * (stride + 1), "bad IDAT length"
    rows = []
    for y in range(h):
        assert raw[y * (stride + 1)] == 0, "unexpected filter type"
        rows.append(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    return w, h, channels, b"".join(rows)
try:
    from PIL import Image
    import io
except ImportError:
    Image = None
out = []
for item in json.load(sys.stdin):
    data = base64.b64decode(item)
    w, h, channels, pixels = manual(data)
    result = {"width": w, "height": h, "channels": channels, "pixels": base64.b64encode(pixels).decode(), "pil": None}
    if Image is not None:
        img = Image.open(io.BytesIO(data)); img.load()
        result["pil"] = {"mode": img.mode, "size": list(img.size), "pixels": base64.b64encode(img.tobytes()).decode()}
    out.append(result)
print(json.dumps(out))
`;

export type DecodedPng = {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly pixels: Uint8Array;
  /** PIL's reading, when PIL is installed. */
  readonly pil:
    | { readonly mode: string; readonly size: [number, number]; readonly pixels: Uint8Array }
    | null;
};

const fromB64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};

/** Decodes PNG files in Python. */
export async function decodePngs(pngs: readonly Uint8Array[]): Promise<DecodedPng[]> {
  type Raw = Omit<DecodedPng, "pixels" | "pil"> & {
    pixels: string;
    pil: { mode: string; size: [number, number]; pixels: string } | null;
  };
  const raw = await runPython<Raw[]>(DECODE_PNG, pngs.map(toB64));
  return raw.map((r) => ({
    ...r,
    pixels: fromB64(r.pixels),
    pil: r.pil && { ...r.pil, pixels: fromB64(r.pil.pixels) },
  }));
}

/** Decodes a `data:image/png;base64,...` URI. */
export function dataUriBytes(uri: string): Uint8Array {
  const prefix = "data:image/png;base64,";
  if (!uri.startsWith(prefix)) throw new Error(`not a PNG data URI: ${uri.slice(0, 40)}`);
  return fromB64(uri.slice(prefix.length));
}

const PARSE_XML = String.raw`
import json, sys
import xml.etree.ElementTree as ET
def node(e):
    return {"tag": e.tag.split("}")[-1], "attrs": dict(e.attrib), "text": e.text or "", "children": [node(c) for c in e]}
out = []
for doc in json.load(sys.stdin):
    try:
        out.append({"ok": True, "root": node(ET.fromstring(doc))})
    except ET.ParseError as err:
        out.append({"ok": False, "error": str(err)})
print(json.dumps(out))
`;

export type XmlNode = {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly text: string;
  readonly children: readonly XmlNode[];
};

/** Parses documents with Python's expat-based xml.etree; throws with the parser's message if one is not well-formed. */
export async function parseXml(docs: readonly string[]): Promise<XmlNode[]> {
  const results = await runPython<({ ok: true; root: XmlNode } | { ok: false; error: string })[]>(
    PARSE_XML,
    docs,
  );
  return results.map((r, i) => {
    if (!r.ok) throw new Error(`document ${i} is not well-formed XML: ${r.error}`);
    return r.root;
  });
}

/** Every descendant (and the node itself) for which `pred` holds, in document order. */
export function findAll(root: XmlNode, pred: (n: XmlNode) => boolean): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode) => {
    if (pred(n)) out.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}

export const byClass = (cls: string) => (n: XmlNode) => (n.attrs.class ?? "").split(" ").includes(cls);
