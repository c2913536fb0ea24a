import { describe, expect, it } from 'vitest';
import { decodeServer, encodeEvent } from './codec.js';
import { Kind, Op } from './types.js';

// The Hello's optional trailing guest token (issue 10, item 4): present for guests, absent otherwise,
// and a Hello without it (an older server) decodes as before.
describe('Hello event: optional guestToken', () => {
  const base = { op: Op.Hello, user: 'zoe', guest: true, node: 'n1', heartbeatMs: 25_000 } as const;

  it('round-trips with and without the token; without it the frame is the old five fields', () => {
    const withToken = decodeServer(encodeEvent({ ...base, guestToken: 'tok.en.sig' }));
    expect(withToken).toEqual({ ok: true, value: [{ kind: Kind.Event, ...base, guestToken: 'tok.en.sig' }] });
    const plain = encodeEvent(base);
    expect(plain[0]).toBe(0x95); // fixarray of 5: what older clients expect
    expect(decodeServer(plain)).toEqual({ ok: true, value: [{ kind: Kind.Event, ...base }] });
  });
});
