import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Broker } from '../../src/ports/broker.js';

/** Several nodes on one shared backend (one bus, one Redis, one cluster). */
export interface BrokerBackend {
  /** A new node, ready to deliver (subscriptions made after this resolves are live once they resolve). */
  node(id: string): Promise<Broker>;
  close(): Promise<void>;
}
export type BrokerFactory = () => Promise<BrokerBackend>;

/** Everything one node hears, as text, in arrival order. */
class Inbox {
  readonly got: { topic: string; text: string }[] = [];
  constructor(broker: Broker) {
    broker.onMessage((topic, bytes) => this.got.push({ topic, text: Buffer.from(bytes).toString() }));
  }
  on(topic: string): string[] {
    return this.got.filter((m) => m.topic === topic).map((m) => m.text);
  }
  /** Waits until `text` has arrived on `topic`. */
  async heard(topic: string, text: string): Promise<void> {
    await vi.waitFor(() => expect(this.on(topic)).toContain(text), { timeout: 5000, interval: 5 });
  }
}

const enc = (s: string) => new TextEncoder().encode(s);
const topicName = (base: string) => `${base}:${randomBytes(4).toString('hex')}`;

/**
 * The Broker contract (ports/broker.ts), run against any adapter. Non-delivery is never asserted
 * by waiting for silence: a later message on the same topic, causally after the one that must not
 * arrive, is awaited instead (one topic is one ordered stream at every receiver).
 */
export function describeBrokerContract(name: string, factory: BrokerFactory): void {
  describe(`Broker contract: ${name}`, () => {
    let backend: BrokerBackend;
    beforeEach(async () => {
      backend = await factory();
    });
    afterEach(async () => {
      await backend?.close();
    });

    it('delivers to every other subscribed node, never back to the origin', async () => {
      const [a, b, c] = await Promise.all([backend.node('a'), backend.node('b'), backend.node('c')]);
      const [ia, ib, ic] = [new Inbox(a), new Inbox(b), new Inbox(c)];
      const t = topicName('c:1');
      await Promise.all([a.subscribe(t), b.subscribe(t), c.subscribe(t)]);

      await a.publish(t, enc('x'));
      await ib.heard(t, 'x');
      await ic.heard(t, 'x');
      await b.publish(t, enc('y')); // after x, so an echo of x would reach a before y
      await ia.heard(t, 'y');
      await a.publish(t, enc('z')); // after y, so an echo of y would reach b before z
      await ib.heard(t, 'z');
      await ic.heard(t, 'z');
      expect(ia.on(t)).toEqual(['y']);
      expect(ib.on(t)).toEqual(['x', 'z']);
      expect(ic.on(t)).toEqual(['x', 'y', 'z']);
    });

    it('delivers only to nodes subscribed to the topic', async () => {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const ib = new Inbox(b);
      const [t, other] = [topicName('c:2'), topicName('c:3')];
      await b.subscribe(other);
      await a.publish(t, enc('not-yours'));
      await a.publish(other, enc('other'));
      await ib.heard(other, 'other');
      await b.subscribe(t);
      await a.publish(t, enc('now'));
      await ib.heard(t, 'now');
      expect(ib.got).toEqual([
        { topic: other, text: 'other' },
        { topic: t, text: 'now' },
      ]);
    });

    it('keeps publish order per topic from one node', async () => {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const ib = new Inbox(b);
      const [t1, t2] = [topicName('c:4'), topicName('ctl')];
      await Promise.all([b.subscribe(t1), b.subscribe(t2)]);
      const want1: string[] = [];
      const want2: string[] = [];
      const sent: Promise<void>[] = [];
      for (let i = 0; i < 300; i++) {
        sent.push(a.publish(t1, enc(`${i}`)));
        want1.push(`${i}`);
        if (i % 3 === 0) {
          sent.push(a.publish(t2, enc(`${i}`)));
          want2.push(`${i}`);
        }
      }
      await Promise.all(sent);
      await ib.heard(t1, want1.at(-1)!);
      await ib.heard(t2, want2.at(-1)!);
      expect(ib.on(t1)).toEqual(want1);
      expect(ib.on(t2)).toEqual(want2);
    });

    it('stops delivery on unsubscribe and resumes on a new subscribe', async () => {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const ib = new Inbox(b);
      const t = topicName('c:5');
      await b.subscribe(t);
      await a.publish(t, enc('before'));
      await ib.heard(t, 'before');
      await b.unsubscribe(t);
      await a.publish(t, enc('missed'));
      await b.unsubscribe(t); // unsubscribing twice is harmless
      await b.subscribe(t);
      await a.publish(t, enc('after'));
      await ib.heard(t, 'after');
      expect(ib.on(t)).toEqual(['before', 'after']);
    });

    it('treats subscribe as idempotent: one delivery per message, one unsubscribe ends it', async () => {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const ib = new Inbox(b);
      const t = topicName('c:6');
      await Promise.all([b.subscribe(t), b.subscribe(t)]);
      await b.subscribe(t);
      await a.publish(t, enc('once'));
      await a.publish(t, enc('marker'));
      await ib.heard(t, 'marker');
      await b.unsubscribe(t);
      await a.publish(t, enc('missed'));
      await b.subscribe(t);
      await a.publish(t, enc('back'));
      await ib.heard(t, 'back');
      expect(ib.on(t)).toEqual(['once', 'marker', 'back']);
    });

    it('moves payloads as opaque bytes, unchanged', async () => {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const got: Uint8Array[] = [];
      b.onMessage((_t, bytes) => got.push(Uint8Array.from(bytes)));
      const t = topicName('c:7');
      await b.subscribe(t);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(randomBytes(64 * 1024));
      await a.publish(t, all);
      await a.publish(t, new Uint8Array(0));
      await a.publish(t, big);
      await vi.waitFor(() => expect(got).toHaveLength(3), { timeout: 5000, interval: 5 });
      // Compared as hex: deep equality over 64 KiB arrays element by element is slow.
      const hex = (xs: Uint8Array[]) => xs.map((x) => Buffer.from(x).toString('hex'));
      expect(hex(got)).toEqual(hex([all, new Uint8Array(0), big]));
      expect(a.healthy()).toBe(true);
      expect(b.healthy()).toBe(true);
    });
  });
}
