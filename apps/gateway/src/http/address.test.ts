import { describe, expect, it } from 'vitest';
import { allowanceKey, canonicalAddress } from './address.js';

describe('client addresses', () => {
  it('gives one spelling per address: uWS full form, mapped IPv4, compressed and dotted-tail IPv6', () => {
    expect(canonicalAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(canonicalAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(canonicalAddress('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(canonicalAddress('2001:0DB8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalAddress('[2001:db8::7]')).toBe('2001:db8::7');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canonicalAddress('198.51.100.9')).toBe('198.51.100.9');
  });

  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(allowanceKey('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(allowanceKey('0000:0000:0000:0000:0000:ffff:7f00:0002')).toBe('127.0.0.2');
    expect(allowanceKey('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64');
    expect(allowanceKey('2001:db8:aa:bb:ffff:ffff:ffff:ffff')).toBe('2001:db8:aa:bb::/64');
    expect(allowanceKey('2001:db8:aa:bc::1')).toBe('2001:db8:aa:bc::/64');
    expect(allowanceKey('::1')).toBe('::/64');
  });

  it('leaves what is not an address as it is (a key of its own), and refuses malformed ones', () => {
    for (const bad of [
      '',
      'unknown',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'g::1',
      '12345::1',
      '::1.2.3',
      '1:2:3:4:5:6:7:1.2.3.4',
    ]) {
      expect(canonicalAddress(bad)).toBe(bad);
      expect(allowanceKey(bad)).toBe(bad);
    }
    expect(canonicalAddress('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3:4:5:6:102:304');
  });
});
