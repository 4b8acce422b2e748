/**
 * Text primitives shared by the Hugging Face normalizers, pre-tokenizers and decoders. Chiefly
 * `SplitDelimiterBehavior`: how the pieces a pattern matches are kept when a string is split on
 * them (Metaspace, Bert, Digits, Split, ... are all built from it).
 */

export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

type Part = { text: string; match: boolean };

/** Splits `text` at the matches of `pattern` (a global regex) or of single characters passing `pattern`. */
export function splitOn(
  text: string,
  pattern: RegExp | ((ch: string) => boolean),
  behavior: SplitBehavior,
  invert = false,
): string[] {
  const parts: Part[] = [];
  const push = (t: string, match: boolean) =>
    t.length > 0 && parts.push({ text: t, match: match !== invert });
  if (typeof pattern === "function") {
    let gap = "";
    for (const ch of text) {
      if (pattern(ch)) {
        push(gap, false);
        gap = "";
        push(ch, true);
      } else gap += ch;
    }
    push(gap, false);
  } else {
    let last = 0;
    for (const m of text.matchAll(pattern)) {
      if (m[0].length === 0) continue; // empty matches split nothing
      push(text.slice(last, m.index), false);
      push(m[0], true);
      last = m.index! + m[0].length;
    }
    push(text.slice(last), false);
  }
  return mergeParts(parts, behavior);
}

function mergeParts(parts: Part[], behavior: SplitBehavior): string[] {
  switch (behavior) {
    case "Removed":
      return parts.filter((p) => !p.match).map((p) => p.text);
    case "Isolated":
      return parts.map((p) => p.text);
    case "Contiguous": {
      const out: string[] = [];
      let previousMatch = false;
      for (const p of parts) {
        if (p.match && previousMatch) out[out.length - 1] += p.text;
        else out.push(p.text);
        previousMatch = p.match;
      }
      return out;
    }
    case "MergedWithPrevious": {
      const out: string[] = [];
      let previousMatch = false;
      for (const p of parts) {
        if (p.match && !previousMatch && out.length > 0) out[out.length - 1] += p.text;
        else out.push(p.text);
        previousMatch = p.match;
      }
      return out;
    }
    case "MergedWithNext": {
      // walk from the end: a match is glued to the piece that follows it
      const out: string[] = [];
      let previousMatch = false;
      for (let i = parts.length - 1; i >= 0; i--) {
        const p = parts[i];
        if (p.match && !previousMatch && out.length > 0) out[out.length - 1] = p.text + out[out.length - 1];
        else out.push(p.text);
        previousMatch = p.match;
      }
      return out.reverse();
    }
  }
}

/** Rust's `char::is_whitespace` (Unicode White_Space). */
export const isWhitespace = (ch: string) => /^\p{White_Space}$/u.test(ch);
/** `char::is_ascii_punctuation() || is_punctuation()` as the Bert and Punctuation pre-tokenizers test it. */
export const isPunctuation = (ch: string) => /^[!-\/:-@\[-`{-~]$/.test(ch) || /^\p{P}$/u.test(ch);

/**
 * Oniguruma's Unicode classes (tokenizers compiles `Regex` patterns with Oniguruma) spelt for
 * JavaScript, where `\s`, `\d` and `\w` mean other sets: Oniguruma's `\s` is White_Space (U+0085
 * in, U+FEFF out; JavaScript has it the other way round), `\d` is Nd, `\w` is L, M, N and Pc.
 * Escapes are rewritten outside and inside character classes; `\W` inside a class has no
 * JavaScript spelling and is refused.
 */
const ONIG_CLASSES: Record<string, { readonly inside: string; readonly outside: string } | undefined> = {
  s: { inside: "\\p{White_Space}", outside: "\\p{White_Space}" },
  S: { inside: "\\P{White_Space}", outside: "\\P{White_Space}" },
  d: { inside: "\\p{Nd}", outside: "\\p{Nd}" },
  D: { inside: "\\P{Nd}", outside: "\\P{Nd}" },
  w: { inside: "\\p{L}\\p{M}\\p{N}\\p{Pc}", outside: "[\\p{L}\\p{M}\\p{N}\\p{Pc}]" },
  W: { inside: "", outside: "[^\\p{L}\\p{M}\\p{N}\\p{Pc}]" },
};

export function onigToJs(source: string): string {
  let out = "", depth = 0; // depth > 0: inside a character class
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\" && i + 1 < source.length) {
      const cls = ONIG_CLASSES[source[i + 1]];
      if (cls === undefined) out += c + source[i + 1];
      else if (depth > 0 && cls.inside === "") throw new SyntaxError("\\W inside a character class");
      else out += depth > 0 ? cls.inside : cls.outside;
      i++;
    } else {
      if (c === "[") depth++;
      else if (c === "]" && depth > 0) depth--;
      out += c;
    }
  }
  return out;
}

/**
 * A pattern field: `{String: "..."}` is literal, `{Regex: "..."}` an Oniguruma regular expression
 * (translated by onigToJs). A regex that does not compile throws a SyntaxError naming `where`.
 */
export function patternOf(
  pattern: { readonly String: string } | { readonly Regex: string },
  where: string,
): RegExp {
  if ("String" in pattern) return new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  try {
    return new RegExp(onigToJs(pattern.Regex), "gu");
  } catch (e) {
    throw new SyntaxError(
      `${where}: the regex ${JSON.stringify(pattern.Regex)} does not compile (${(e as Error).message})`,
    );
  }
}

/** GPT-2's byte -> printable character table: bytes that print as themselves keep their code. */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}
