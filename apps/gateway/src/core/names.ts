/**
 * User names (accounts and guests share one namespace) and the rule that keeps look-alikes apart.
 *
 * A name is stored as typed after Unicode NFKC normalisation; it must be 2–32 code points of
 * letters, combining marks, digits, `_`, `.` and `-`, starting with a letter, digit or `_`
 * (no spaces, no invisible or control characters, no Hangul filler letters). Two names are the
 * SAME name when their keys (`nameKey`) are equal, and only one user may hold a key (a unique
 * index in the database).
 *
 * The key is a confusables skeleton, deliberately coarser than Unicode's (UTS #39): a refused
 * look-alike costs a sign-up another try, an accepted one lets someone impersonate.
 *   1. NFKC (full-width `ａ` → `a`, ligatures, super/subscripts);
 *   2. accents and other combining marks removed (`é` → `e`);
 *   3. every character through the homoglyph table below (Cyrillic, Greek, Armenian, Coptic and
 *      Cherokee letters that look like Latin ones, and Latin small capitals), a decimal digit of any
 *      script as its ASCII digit, else lower-cased;
 *   4. `i`, `1` → `l` and `0` → `o` (`I`, `l`, `1` and, once lower-cased, `i` are one class);
 *   5. `rn` → `m`, `vv` → `w`.
 * So `Alice`, `alice`, `aIice`, `a1ice`, `аlice` (Cyrillic а) and `alicé` are one name.
 * On ASCII names the key is `replace(replace(translate(lower(name), 'i10', 'llo'), 'rn', 'm'), 'vv', 'w')`:
 * migration 007 backfills existing rows with exactly that expression (names were ASCII then).
 */

// TODO(lead): once packages/protocol has the shared text validator, names can use it for the
// "no control / invisible / unpaired surrogate" part; this pattern already excludes them.
const NAME = /^[\p{L}\p{N}_][\p{L}\p{M}\p{N}_.-]{1,31}$/u;

export const NAME_RULE = 'name: 2–32 letters, digits, _ . - (not starting with . or -)';

/**
 * Letters that render as nothing (Hangul fillers; U+3164 and U+FFA0 become U+1160 under NFKC): a
 * name made of them is blank, and one added to someone's name looks like that name.
 */
const INVISIBLE_LETTERS = /[\u115F\u1160\u3164\uFFA0]/u;

/** The stored form of an acceptable name (NFKC), or null. */
export function normalizeName(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 256) return null;
  const name = raw.normalize('NFKC');
  return NAME.test(name) && !INVISIBLE_LETTERS.test(name) ? name : null;
}

// Letters that render like a Latin letter in common fonts, mapped to it.
const HOMOGLYPHS: Record<string, string> = {};
const table: [string, string][] = [
  // Cyrillic lower / upper
  ['а', 'a'],
  ['А', 'a'],
  ['в', 'b'],
  ['В', 'b'],
  ['с', 'c'],
  ['С', 'c'],
  ['ԁ', 'd'],
  ['е', 'e'],
  ['Е', 'e'],
  ['ё', 'e'],
  ['Ё', 'e'],
  ['һ', 'h'],
  ['Н', 'h'],
  ['і', 'i'],
  ['І', 'l'],
  ['ї', 'i'],
  ['Ї', 'l'],
  ['ј', 'j'],
  ['Ј', 'j'],
  ['к', 'k'],
  ['К', 'k'],
  ['ӏ', 'l'],
  ['Ӏ', 'l'],
  ['м', 'm'],
  ['М', 'm'],
  ['о', 'o'],
  ['О', 'o'],
  ['р', 'p'],
  ['Р', 'p'],
  ['ԛ', 'q'],
  ['г', 'r'],
  ['ѕ', 's'],
  ['Ѕ', 's'],
  ['т', 't'],
  ['Т', 't'],
  ['у', 'y'],
  ['У', 'y'],
  ['ү', 'y'],
  ['Ү', 'y'],
  ['х', 'x'],
  ['Х', 'x'],
  ['ԝ', 'w'],
  ['Ԝ', 'w'],
  ['ь', 'b'],
  ['п', 'n'],
  ['з', '3'],
  ['З', '3'],
  // Greek lower / upper
  ['α', 'a'],
  ['Α', 'a'],
  ['β', 'b'],
  ['Β', 'b'],
  ['ε', 'e'],
  ['Ε', 'e'],
  ['Ζ', 'z'],
  ['η', 'n'],
  ['Η', 'h'],
  ['ι', 'i'],
  ['Ι', 'l'],
  ['κ', 'k'],
  ['Κ', 'k'],
  ['Μ', 'm'],
  ['ν', 'v'],
  ['Ν', 'n'],
  ['ο', 'o'],
  ['Ο', 'o'],
  ['ρ', 'p'],
  ['Ρ', 'p'],
  ['τ', 't'],
  ['Τ', 't'],
  ['υ', 'u'],
  ['Υ', 'y'],
  ['χ', 'x'],
  ['Χ', 'x'],
  ['ω', 'w'],
  // Latin letters outside ASCII that NFKC keeps and that look like ASCII ones
  ['ı', 'i'],
  ['ɡ', 'g'],
  ['ʟ', 'l'],
  ['ɑ', 'a'],
  ['ø', 'o'],
  ['Ø', 'o'],
  ['ł', 'l'],
  ['Ł', 'l'],
  ['đ', 'd'],
  ['Đ', 'd'],
  ['ß', 'ss'],
  ['ɓ', 'b'],
  // Small capitals (Latin letters NFKC keeps)
  ['ᴀ', 'a'],
  ['ʙ', 'b'],
  ['ᴄ', 'c'],
  ['ᴅ', 'd'],
  ['ᴇ', 'e'],
  ['ꜰ', 'f'],
  ['ɢ', 'g'],
  ['ʜ', 'h'],
  ['ɪ', 'i'],
  ['ᴊ', 'j'],
  ['ᴋ', 'k'],
  ['ᴍ', 'm'],
  ['ɴ', 'n'],
  ['ᴏ', 'o'],
  ['ᴘ', 'p'],
  ['ʀ', 'r'],
  ['ꜱ', 's'],
  ['ᴛ', 't'],
  ['ᴜ', 'u'],
  ['ᴠ', 'v'],
  ['ᴡ', 'w'],
  ['ʏ', 'y'],
  ['ᴢ', 'z'],
  // Armenian
  ['օ', 'o'],
  ['Օ', 'o'],
  ['ս', 'u'],
  ['ո', 'n'],
  ['հ', 'h'],
  ['ց', 'g'],
  ['զ', 'q'],
  ['ա', 'w'],
  // Coptic
  ['ⲟ', 'o'],
  ['Ⲟ', 'o'],
  ['ⲣ', 'p'],
  ['Ⲣ', 'p'],
  ['ⲥ', 'c'],
  ['Ⲥ', 'c'],
  ['ⲭ', 'x'],
  ['Ⲭ', 'x'],
  // Cherokee capitals (its small letters are looked up by their capital)
  ['Ꭺ', 'a'],
  ['Ᏼ', 'b'],
  ['Ꮯ', 'c'],
  ['Ꭰ', 'd'],
  ['Ꭼ', 'e'],
  ['Ꮐ', 'g'],
  ['Ꮋ', 'h'],
  ['Ꭻ', 'j'],
  ['Ꮶ', 'k'],
  ['Ꮮ', 'l'],
  ['Ꮇ', 'm'],
  ['Ꮻ', 'o'],
  ['Ꮲ', 'p'],
  ['Ꮪ', 's'],
  ['Ꭲ', 't'],
  ['Ꮩ', 'v'],
  ['Ꮃ', 'w'],
  ['Ꮓ', 'z'],
];
for (const [from, to] of table) HOMOGLYPHS[from] = to;

/**
 * The version of `nameKey`: raise it whenever the key of an existing name can change (the table,
 * the rules), so stored keys are recomputed at the next start (adapters/sql/name-keys.ts).
 */
export const NAME_KEY_VERSION = 2;

/** The look-alike class of a name: equal keys = the same name (see the module comment). */
export function nameKey(name: string): string {
  let s = '';
  for (const ch of withoutMarks(name.normalize('NFKC'))) {
    s += HOMOGLYPHS[ch] ?? HOMOGLYPHS[ch.toLowerCase()] ?? HOMOGLYPHS[ch.toUpperCase()] ?? asciiDigit(ch) ?? ch.toLowerCase();
  }
  // Again: lower-casing can add a mark (`İ` → `i̇`).
  return withoutMarks(s).replace(/[i1]/g, 'l').replace(/0/g, 'o').replace(/rn/g, 'm').replace(/vv/g, 'w');
}

const withoutMarks = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '');

const DIGIT = /^\p{Nd}$/u;

/**
 * A decimal digit of any script as its ASCII digit (Devanagari `०`, NKo `߀` → `0`), else null.
 * Unicode puts each script's digits 0–9 in a run of consecutive code points, runs of several
 * scripts back to back: the value is the distance from the start of the run, mod 10.
 */
function asciiDigit(ch: string): string | null {
  if (ch <= '\x7f' || !DIGIT.test(ch)) return null;
  let start = ch.codePointAt(0) as number;
  while (DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return String(((ch.codePointAt(0) as number) - start) % 10);
}
