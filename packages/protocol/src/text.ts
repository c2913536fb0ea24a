/**
 * Which strings Parley accepts as text, checked up front (error 102) wherever a client supplies
 * one: messages, commands (with their arguments and reasons), reaction emoji, client message ids,
 * channel names, and — through the same helpers, in the gateway's HTTP routes — user and guest
 * names. One rule for the wire and HTTP, so nothing half-valid reaches a store.
 *
 * Why: U+0000 cannot be stored in a Postgres `text` column. It failed a `/kick` halfway (membership
 * deleted, audit insert refused), answered a send with a "retryable" 503, and poisoned the whole
 * group-commit batch into one-by-one retries. Lone surrogates are not Unicode (not encodable as
 * UTF-8; the msgpack decoder produces them from CESU-style bytes). Other control characters are
 * invisible and rewrite terminals and logs.
 *
 * Refused everywhere:
 * - C0 controls U+0000–U+001F except TAB and LF, DEL U+007F, C1 controls U+0080–U+009F. CR is
 *   refused too: a line break is LF alone (browsers' textarea values already use LF; a client
 *   sending CRLF text should normalise it), and a bare CR is how a line in a terminal or log is
 *   overwritten.
 * - lone (unpaired) surrogates;
 * - the noncharacters U+FFFE and U+FFFF (a byte-swapped BOM, and "not a character").
 * Names, emoji and client message ids are single-line: TAB and LF are refused there as well.
 *
 * Format characters such as ZWJ (U+200D, in emoji sequences), variation selectors and ZWNJ are
 * allowed: real text needs them. Look-alike names are a separate check (on names).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const BAD_TEXT = /[\0-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const BAD_NAME = /[\0-\x1f\x7f-\x9f\ufffe\uffff]/;
/** A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// String.prototype.isWellFormed (ES2024; Node 20, current browsers) is several times faster than
// the look-around regex on long non-ASCII text; older browsers (the SDK runs there) use the regex.
const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/** Message text, commands and reasons: no control characters but TAB and LF, no lone surrogates, no U+FFFE/U+FFFF. */
export function isValidText(s: string): boolean {
  return !BAD_TEXT.test(s) && wellFormed(s);
}

/** Names (users, guests, channels), emoji, client message ids: as `isValidText`, and no TAB or LF either. */
export function isValidName(s: string): boolean {
  return !BAD_NAME.test(s) && wellFormed(s);
}

/** The 102 message for text that fails these checks. */
export const INVALID_TEXT = 'control characters (other than tab and newline), lone surrogates and U+FFFE/U+FFFF are not allowed';
export const INVALID_NAME = 'control characters, lone surrogates and U+FFFE/U+FFFF are not allowed';
