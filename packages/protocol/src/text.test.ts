import { describe, expect, it } from 'vitest';
import { isValidName, isValidText } from './text.js';

describe('isValidText / isValidName', () => {
  it('refuse C0 controls except TAB and LF (CR included), DEL and C1 controls', () => {
    for (let c = 0; c <= 0x9f; c++) {
      const ch = String.fromCharCode(c);
      const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
      expect(isValidText(`a${ch}b`), `U+${c.toString(16)}`).toBe(!control || c === 0x09 || c === 0x0a);
      expect(isValidName(`a${ch}b`), `U+${c.toString(16)}`).toBe(!control);
    }
  });

  it('refuse lone surrogates, high or low, anywhere; accept pairs', () => {
    for (const s of ['\ud800', 'a\ud83d', '\ude00b', '\ude00\ud83d', 'x\udbff\udbff']) {
      expect(isValidText(s), JSON.stringify(s)).toBe(false);
      expect(isValidName(s)).toBe(false);
    }
    expect(isValidText('😀\ud83d\ude00')).toBe(true);
  });

  it('refuse U+FFFE and U+FFFF, accept U+FFFD and the rest of the BMP edge', () => {
    expect(isValidText('\ufffe')).toBe(false);
    expect(isValidText('\uffff')).toBe(false);
    expect(isValidText('\ufffd\u00a0\ud7ff\ue000')).toBe(true);
  });

  it('accept the empty string (length limits are the schemas’ job)', () => {
    expect(isValidText('')).toBe(true);
    expect(isValidName('')).toBe(true);
  });
});
