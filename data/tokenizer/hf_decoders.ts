/**
 * Hugging Face tokenizer.json decoders: token strings -> text. Each decoder maps the list of
 * tokens to a new list (tokenizers' decode_chain); the results are concatenated at the end.
 */
import { bytesToUnicode, patternOf } from "./hf_split.ts";

import type { Decoder } from "./hf_schema.ts";

export type Decode = (tokens: string[]) => string[];

/** WordPiece's clean-up of tokenization spaces (tokenizers' `cleanup`). */
function cleanup(s: string): string {
  return s.replaceAll(" .", ".").replaceAll(" ?", "?").replaceAll(" !", "!").replaceAll(" ,", ",")
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export function buildDecoder(spec: Decoder | null | undefined): Decode | undefined {
  if (spec === null || spec === undefined) return undefined;
  switch (spec.type) {
    case "Sequence": {
      const steps = spec.decoders.map((d) => buildDecoder(d)!);
      return (tokens) => steps.reduce((acc, f) => f(acc), tokens);
    }
    case "ByteLevel": {
      const inverse = new Map(bytesToUnicode().map((ch, b) => [ch, b]));
      const utf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // a leading U+FEFF is text
      return (tokens) => {
        const bytes: number[] = [];
        for (const ch of tokens.join("")) {
          const b = inverse.get(ch);
          if (b !== undefined) bytes.push(b);
          else bytes.push(...new TextEncoder().encode(ch)); // added tokens pass through as text
        }
        return [utf8.decode(new Uint8Array(bytes))];
      };
    }
    case "WordPiece": {
      const prefix = spec.prefix;
      const clean = spec.cleanup;
      return (tokens) =>
        tokens.map((t, i) => {
          // the first token keeps a leading prefix (tokenizers strips it only from later tokens)
          let s = i === 0 ? t : t.startsWith(prefix) ? t.slice(prefix.length) : " " + t;
          if (clean) s = cleanup(s);
          return s;
        });
    }
    case "Metaspace": {
      const replacement = spec.replacement;
      const scheme = spec.prepend_scheme ?? (spec.add_prefix_space === false ? "never" : "always");
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(replacement, " ");
          return i === 0 && scheme !== "never" && s.startsWith(" ") ? s.slice(1) : s;
        });
    }
    case "BPEDecoder": {
      const suffix = spec.suffix;
      return (tokens) => tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " "));
    }
    case "Replace": {
      const re = patternOf(spec.pattern, "Replace decoder");
      return (tokens) => tokens.map((t) => t.replace(re, () => spec.content));
    }
    case "ByteFallback": {
      const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      return (tokens) => {
        const out: string[] = [];
        let bytes: number[] = [];
        const flush = () => {
          if (bytes.length === 0) return;
          try {
            out.push(utf8.decode(new Uint8Array(bytes)));
          } catch {
            for (let i = 0; i < bytes.length; i++) out.push("\ufffd"); // one U+FFFD per byte, as tokenizers
          }
          bytes = [];
        };
        for (const t of tokens) {
          const m = BYTE_TOKEN.exec(t);
          if (m) bytes.push(parseInt(m[1], 16));
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        return out;
      };
    }
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const { content, start, stop } = spec;
      return (tokens) =>
        tokens.map((t) => {
          const chars = [...t];
          let a = 0, b = chars.length;
          while (a < start && a < b && chars[a] === content) a++;
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
          return chars.slice(a, b).join("");
        });
    }
  }
}
