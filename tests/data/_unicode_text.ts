/**
 * fast-check arbitraries of hostile Unicode text for the tokenizer fuzz tests: code points from
 * every plane (unassigned, private-use and noncharacters included), every White_Space character and
 * the zero-width ones that are not, case mappings that change length or depend on context, byte-order
 * marks, combining marks alone and stacked, emoji sequences, Hangul jamo that compose, scripts
 * without spaces, controls, and compatibility forms that NFKC rewrites. Never lone surrogates: they
 * are not text, and UTF-8 cannot carry them to the reference libraries.
 */
import fc from "fast-check";

const cp = (...codes: number[]) => String.fromCodePoint(...codes);

/** Every White_Space character, then zero-width characters that are not White_Space. */
export const WHITESPACE = [
  "\t",
  "\n",
  "\v",
  "\f",
  "\r",
  " ",
  "\u0085",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2001",
  "\u2002",
  "\u2003",
  "\u2004",
  "\u2005",
  "\u2006",
  "\u2007",
  "\u2008",
  "\u2009",
  "\u200a",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f",
  "\u3000",
];
const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\u180e", "\ufeff", "\u00ad", "\u034f"];

/** Case mappings that change length, depend on context or on the locale, and title-case digraphs. */
export const CASE_SPECIALS = [
  "ß",
  "ẞ",
  "İ",
  "ı",
  "i\u0307",
  "ſ",
  "ΣΑΣ",
  "ΟΔΟΣ",
  "Σ",
  "ς",
  "ǅ",
  "ǈ",
  "ǋ",
  "ǲ",
  "ﬀ",
  "ﬁ",
  "ﬆ",
  "ŉ",
  "ΐ",
  "ΰ",
  "և",
  "ᾈ",
  "ᾼ",
  "K",
  "Å",
  "Ω",
  "Ꭰ",
  "ꭰ",
  "Ა",
  "ᲀ",
  "ẞß",
  "İstanbul",
  "ǰ",
  "ﬓ",
  "Ⅻ",
  "ⅻ",
  "ⓐ",
  "Ⓐ",
  "𐐀",
  "𐐨",
  "𞤀",
  "𞤢",
  "DŽ",
  "Dž",
  "dž",
];

const BOMS = ["\ufeff", "\ufffe", "\uffff", "\ufeff\ufeff"];

const MARK_RANGES: readonly [number, number][] = [
  [0x300, 0x36f],
  [0x483, 0x489],
  [0x591, 0x5bd],
  [0x610, 0x61a],
  [0x64b, 0x65f],
  [0x93c, 0x93c],
  [0x941, 0x948],
  [0xe31, 0xe31],
  [0xe34, 0xe3a],
  [0x1ab0, 0x1abe],
  [0x1dc0, 0x1dff],
  [0x20d0, 0x20f0],
  [0xfe20, 0xfe2f],
  [0x1d165, 0x1d169],
  [0xe0100, 0xe01ef],
];
const inRanges = (ranges: readonly [number, number][]) =>
  fc.constantFrom(...ranges).chain(([a, b]) => fc.integer({ min: a, max: b })).map((c) => cp(c));
const mark = inRanges(MARK_RANGES);

/** A code point from anywhere, planes weighted so each kind of region shows up. */
const anyCodePoint = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 0xd7ff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xe000, max: 0xffff }) },
  { weight: 3, arbitrary: fc.integer({ min: 0x10000, max: 0x1ffff }) }, // SMP: emoji, math, scripts
  { weight: 1, arbitrary: fc.integer({ min: 0x20000, max: 0x3ffff }) }, // CJK extensions
  { weight: 1, arbitrary: fc.integer({ min: 0x40000, max: 0xdffff }) }, // unassigned planes 4-13
  { weight: 1, arbitrary: fc.integer({ min: 0xe0000, max: 0xe01ff }) }, // tags, variation selectors
  { weight: 1, arbitrary: fc.integer({ min: 0xf0000, max: 0x10ffff }) }, // private use, noncharacters
).map((c) => cp(c));

const EMOJI = [
  "😀",
  "👍🏽",
  "🐈‍⬛",
  "👩‍👩‍👧‍👦",
  "🏳️‍🌈",
  "❤️",
  "1️⃣",
  "#️⃣",
  "🇫🇷",
  "🇯🇵🇺🇸",
  "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
  "🧑🏿‍🦱",
  "☃︎",
  "✈️",
];
const SCRIPTS = [
  "東京で猫が鳴いた",
  "中文测试",
  "한국어",
  "\u1100\u1161\u11a8",
  "\u1112\u1161\u11ab\u1100\u1173\u11af",
  "ภาษาไทย",
  "العربية",
  "עברית",
  "हिन्दी",
  "தமிழ்",
  "ქართული",
  "Ελληνικά",
  "русский",
  "ɪpa ʃ",
  "ⰀⰁ",
  "𓀀𓀁",
];
const CONTROLS = ["\0", "\u0001", "\u001b", "\u007f", "\u0080", "\u009f", "\u0008", "\u001f"];
const COMPAT = [
  "ﬁ",
  "①",
  "Ⅻ",
  "㎏",
  "ｶﾞ",
  "²",
  "½",
  "Ａ",
  "ｱ",
  "㍿",
  "ℌ",
  "𝔘𝔫𝔦",
  "ǆ",
  "…",
  "™",
  "µ",
  "Å",
  "Ω",
];
const WORDS = [
  "the",
  "quick",
  "brown",
  "fox",
  "What",
  "colour",
  "was",
  "it",
  "Mirasol3B",
  "video",
  "it's",
  "they're",
  "don't",
  "12345",
  "3.14",
  "2026-11-24",
  "?",
  "!!",
  ",",
  ".",
  "—",
  "<video>",
  "<s>",
  "[SEP]",
  "question:",
  "Café",
  "naïve",
];

/** One piece of hostile text. */
export const fragment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 3, arbitrary: fc.constantFrom(...WHITESPACE, ...ZERO_WIDTH) },
  {
    weight: 2,
    arbitrary: fc.array(fc.constantFrom(...WHITESPACE), { minLength: 2, maxLength: 6 }).map((s) =>
      s.join("")
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...CASE_SPECIALS) },
  { weight: 1, arbitrary: fc.constantFrom(...BOMS) },
  { weight: 2, arbitrary: fc.array(mark, { minLength: 1, maxLength: 4 }).map((m) => m.join("")) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("a", "e", "o", "ß", "ᄀ", "字", "ω"),
      fc.array(mark, { minLength: 1, maxLength: 3 }),
    ).map(([b, m]) => b + m.join("")),
  },
  { weight: 3, arbitrary: fc.array(anyCodePoint, { minLength: 1, maxLength: 3 }).map((c) => c.join("")) },
  { weight: 2, arbitrary: fc.constantFrom(...EMOJI) },
  { weight: 2, arbitrary: fc.constantFrom(...SCRIPTS) },
  { weight: 1, arbitrary: fc.constantFrom(...CONTROLS) },
  { weight: 2, arbitrary: fc.constantFrom(...COMPAT) },
);

/** Hostile text: up to `maxFragments` fragments, glued together or separated by spaces. */
export function unicodeText(maxFragments = 10): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fragment, fc.constantFrom("", "", " ")), { maxLength: maxFragments })
    .map((parts) => parts.map(([f, sep]) => f + sep).join(""));
}
