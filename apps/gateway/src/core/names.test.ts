import { describe, expect, it } from 'vitest';
import { nameKey, normalizeName } from './names.js';

describe('names: look-alikes are one name', () => {
  // Found by a hostile-client audit (12-03): each was accepted as a name apart from "bob".
  it.each([
    ['b\u0585b', 'Armenian o', 'bob'],
    ['b\u2c9fb', 'Coptic o', 'bob'],
    ['b\u07c0b', 'NKo digit zero', 'bob'],
    ['b\u0966b', 'Devanagari digit zero', 'bob'],
    ['\u13f4ob', 'Cherokee B', 'bob'],
    ['\u13fcob', 'Cherokee small b', 'bob'],
    ['\u0299ob', 'small capital B', 'bob'],
    ['\u0253ob', 'b with hook', 'bob'],
    ['\u1d0f\u0299\u1d0f', 'small capitals', 'obo'],
  ])('%s (%s) is %s', (name, _, latin) => {
    expect(normalizeName(name), name).not.toBeNull();
    expect(nameKey(name)).toBe(nameKey(latin));
  });

  it('digits of any script are their ASCII digit', () => {
    expect(nameKey('user\u0967\u0968\u0969')).toBe(nameKey('user123')); // Devanagari
    expect(nameKey('user\u0661\u0662')).toBe(nameKey('user12')); // Arabic-Indic
    expect(nameKey('x\u0e57')).toBe(nameKey('x7')); // Thai
  });

  it('blank letters are refused, alone or added to a name', () => {
    for (const n of ['\u3164\u3164', '\uffa0\uffa0', '\u115f\u115f', 'bob\u3164', 'bo\u1160b'])
      expect(normalizeName(n), JSON.stringify(n)).toBeNull();
  });

  it('names in other scripts still work, and stay apart from Latin ones', () => {
    for (const n of ['Дмитрий', 'Ἀλέξανδρος', 'さくら', '김민준', 'محمد', 'देव१२']) expect(normalizeName(n), n).not.toBeNull();
    expect(nameKey('김민준')).not.toBe(nameKey('kim'));
  });
});
