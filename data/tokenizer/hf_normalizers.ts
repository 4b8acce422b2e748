/**
 * Hugging Face tokenizer.json normalizers: string -> string rewrites applied before
 * pre-tokenization. Each JSON `type` (hf_schema.ts has decoded and checked them) maps to one
 * function.
 */
import { applyCharsmap, parseCharsmap } from "./charsmap.ts";
import { bytesToUnicode, isWhitespace, patternOf } from "./hf_split.ts";
import type { Normalizer } from "./hf_schema.ts";

export type Normalize = (text: string) => string;

/**
 * tokenizers' BertNormalizer `is_control`: `is_other()` of the unicode_categories crate, minus tab and
 * newlines. That crate's "unassigned" table does not hold the unassigned code points or the
 * noncharacters (U+FFFF), so in effect it is Cc, Cf and Co, and an unassigned character is kept.
 */
const isControl = (ch: string) =>
  ch !== "\t" && ch !== "\n" && ch !== "\r" && /^[\p{Cc}\p{Cf}\p{Co}]$/u.test(ch);

function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

function bertNormalizer(spec: Extract<Normalizer, { type: "BertNormalizer" }>): Normalize {
  const lowercase = spec.lowercase;
  const stripAccents = spec.strip_accents ?? lowercase;
  return (text) => {
    let s = text;
    if (spec.clean_text) {
      let out = "";
      for (const ch of s) {
        if (ch === "\0" || ch === "\ufffd" || isControl(ch)) continue;
        out += isWhitespace(ch) || ch === "\t" || ch === "\n" || ch === "\r" ? " " : ch;
      }
      s = out;
    }
    if (spec.handle_chinese_chars) {
      let out = "";
      for (const ch of s) out += isChineseChar(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
      s = out;
    }
    if (stripAccents) s = s.normalize("NFD").replace(/\p{Mn}/gu, "");
    if (lowercase) s = s.toLowerCase();
    return s;
  };
}

function base64Bytes(text: string): Uint8Array {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function buildNormalizer(spec: Normalizer | null | undefined): Normalize {
  if (spec === null || spec === undefined) return (s) => s;
  switch (spec.type) {
    case "Sequence": {
      const steps = spec.normalizers.map(buildNormalizer);
      return (s) => steps.reduce((acc, f) => f(acc), s);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (s) => s.normalize(spec.type);
    case "Lowercase":
      return (s) => s.toLowerCase();
    case "StripAccents":
      return (s) => s.replace(/\p{M}/gu, "");
    case "BertNormalizer":
      return bertNormalizer(spec);
    case "Strip": {
      const left = spec.strip_left, right = spec.strip_right;
      return (s) => {
        const chars = [...s];
        let a = 0, b = chars.length;
        while (left && a < b && isWhitespace(chars[a])) a++;
        while (right && b > a && isWhitespace(chars[b - 1])) b--;
        return chars.slice(a, b).join("");
      };
    }
    case "Replace": {
      const re = patternOf(spec.pattern, "Replace normalizer");
      return (s) => s.replace(re, () => spec.content);
    }
    case "Prepend":
      return (s) => s.length > 0 ? spec.prepend + s : s;
    case "Precompiled": {
      if (!spec.precompiled_charsmap) return (s) => s;
      const map = parseCharsmap(base64Bytes(spec.precompiled_charsmap));
      return (s) => applyCharsmap(map, s);
    }
    case "ByteLevel": {
      const table = bytesToUnicode();
      return (s) => Array.from(new TextEncoder().encode(s), (b) => table[b]).join("");
    }
  }
}
