import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import type { Logger } from '../../logger.js';
import { gatewayFile } from '../../paths.js';
import type { Broker, Retained } from '../../ports/broker.js';
import { connectRedis, isCluster, type RedisClient } from './connect.js';
import { hashSlot, RedisKeys } from './keys.js';

const lua = (name: string) => readFileSync(gatewayFile('src', 'adapters', 'redis', 'lua', `${name}.lua`), 'utf8');
const PUBLISH_RETAIN = lua('publish-retain');
const PUBLISH_MANY = lua('publish-many');
interface Scripts {
  parleyPublishRetain(recent: string, high: string, ...args: (string | number | Buffer)[]): Promise<number>;
  /** numkeys, keys…, args… (the keys vary with the items). */
  parleyPublishMany(numkeys: number, ...keysAndArgs: (string | number | Buffer)[]): Promise<number>;
}

/** A publish waiting for the end of the tick (standalone Redis: one call carries them all). */
interface Queued {
  channel: string;
  payload: Buffer;
  retain: { cid: number; frames: readonly Retained[] } | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface RedisBrokerOptions {
  /** `redis://…` (PUBLISH/SUBSCRIBE) or `redis+cluster://…` (SPUBLISH/SSUBSCRIBE); see connect.ts. */
  url: string;
  prefix: string;
  /** At most 255 bytes of UTF-8: it travels in front of every payload. */
  nodeId: string;
  /** Messages kept per channel in the recent-message window (`publish` with `retain`). Default 1000. */
  windowSize?: number;
  /** How often the subscriber's liveness is probed; 0 disables the probe. Default 2000. */
  probeIntervalMs?: number;
  /** How long a probe may take before the broker counts as dead. Default max(interval, 1000). */
  probeTimeoutMs?: number;
  logger?: Logger;
  /** Called whenever `healthy()` changes (readiness, logs, tests). */
  onHealthChange?: (healthy: boolean) => void;
}

interface Probe {
  token: string;
  waiting: Set<string>;
  timer: NodeJS.Timeout;
}

/**
 * Broker over Redis pub/sub: one Redis channel per topic (`keys.topic`), two connections.
 *
 * - Standalone: PUBLISH/SUBSCRIBE. Cluster: SPUBLISH/SSUBSCRIBE on an ioredis `Cluster` with
 *   `shardedSubscribers` (one subscriber connection per master), one channel per SSUBSCRIBE call,
 *   so every topic goes to the one shard that owns its hash tag instead of every node.
 * - No echo: each payload travels as [id length][origin node id][bytes]; a node drops its own.
 *   Redis still sends them back to a node subscribed to the same topic; the cost is one extra
 *   message per publish on a path that is already one message per node.
 * - At-most-once: the publisher has no offline queue and never resends after a reconnect, so a
 *   publish while Redis is down (or in flight when it drops) rejects.
 * - Reconnect: ioredis re-subscribes (standalone: on the same connection before anything else;
 *   cluster: the subscriber group re-creates a lost shard subscriber and re-subscribes it).
 * - Liveness probe: an idle subscriber connection can be dead without a TCP error (a silent
 *   failover, a black-holed route: centrifugo#1189). Every interval the node publishes a token on
 *   its private probe channel(s), one per shard it can subscribe on, and must hear every one back
 *   within the timeout; otherwise it is unhealthy and both connections are torn down and reopened.
 * - `healthy()`: both connections ready AND the last probe since the last (re)connect came back.
 */
export class RedisBroker implements Broker {
  private readonly keys: RedisKeys;
  private readonly pub: RedisClient;
  private readonly sub: RedisClient;
  private readonly cluster: boolean;
  private readonly windowSize: number;
  /** [length][node id bytes]: the header of every payload this node publishes. */
  private readonly origin: Buffer;
  /** Redis channel → topic, for every topic subscribed (or being subscribed). */
  private readonly topics = new Map<string, { topic: string; ready: Promise<void> }>();
  private readonly log: Logger;
  private handler: (topic: string, bytes: Uint8Array) => void = () => {};
  /** Standalone: this tick's publishes, sent together in a microtask (sendQueued). */
  private readonly queued: Queued[] = [];

  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private probe: Probe | null = null;
  private probeSeq = 0;
  private probeOk = false;
  /** Cluster: when a shard subscriber was lost and ioredis has not reported it restored yet. */
  private subscribersLostAt = 0;
  /** Cluster: probe channels SSUBSCRIBEd since the last loss of a shard subscriber. */
  private readonly probeSubscribed = new Set<string>();
  private lastHealthy = false;
  private closed = false;

  constructor(private readonly opts: RedisBrokerOptions) {
    this.keys = new RedisKeys(opts.prefix);
    const id = Buffer.from(opts.nodeId);
    if (id.length === 0 || id.length > 255) throw new Error('RedisBroker: nodeId must be 1..255 bytes');
    this.origin = Buffer.concat([Buffer.from([id.length]), id]);
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.probeIntervalMs = opts.probeIntervalMs ?? 2000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? Math.max(this.probeIntervalMs, 1000);

    this.pub = connectRedis(opts.url, { role: 'publisher', name: `parley:${opts.nodeId}:pub` });
    this.sub = connectRedis(opts.url, { role: 'subscriber', name: `parley:${opts.nodeId}:sub` });
    this.cluster = isCluster(this.sub);
    this.windowSize = opts.windowSize ?? 1000;
    this.pub.defineCommand('parleyPublishRetain', { numberOfKeys: 2, lua: PUBLISH_RETAIN });
    this.pub.defineCommand('parleyPublishMany', { lua: PUBLISH_MANY });

    for (const [conn, role] of [
      [this.pub, 'publisher'],
      [this.sub, 'subscriber'],
    ] as const) {
      conn.on('error', (err: Error) => this.log.warn({ err: err.message, role }, 'redis broker connection error'));
      conn.on('close', () => {
        if (this.probeIntervalMs > 0) this.probeOk = false;
        this.updateHealth();
      });
      conn.on('end', () => this.updateHealth());
      // Verify the restored subscriptions right away instead of waiting for the next interval.
      // By 'ready' ioredis has re-sent the old SUBSCRIBEs, so the probe's own SUBSCRIBE queues
      // behind them on the same connection (see runProbe).
      conn.on('ready', () => {
        this.updateHealth();
        setImmediate(() => void this.runProbe());
      });
    }
    if (this.cluster) {
      // A lost shard subscriber: ioredis re-creates it and re-subscribes its channels, then emits
      // 'subscribersReady'. Until a probe after that proves it, we are not healthy; a probe in
      // flight across the loss proves nothing either way, so it is dropped rather than failed.
      this.sub.on('-node', () => {
        if (this.probeIntervalMs <= 0) return;
        this.probeOk = false;
        this.cancelProbe();
        this.probeSubscribed.clear();
        this.subscribersLostAt = Date.now();
        this.updateHealth();
      });
      this.sub.on('subscribersReady', () => {
        this.subscribersLostAt = 0;
        setImmediate(() => void this.runProbe());
      });
      this.sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.onRedisMessage(channel, message));
    } else {
      this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onRedisMessage(channel, message));
    }
    if (this.probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => void this.runProbe(), this.probeIntervalMs);
      this.probeTimer.unref();
    } else {
      this.probeOk = true;
    }
  }

  /**
   * Standalone Redis: what this node publishes within one tick (the hub forwards every channel's
   * batch in one pass) leaves as ONE script call, lua/publish-many.lua, in publish order: one
   * round trip and one write for all channels instead of one each — what a message costs Redis
   * and the gateway most in small rooms, where each channel has about one message per tick.
   * Redis Cluster: one call per publish (lua/publish-retain.lua with `retain`, else SPUBLISH), as
   * the channels' keys live in different slots. Either way `retain` adds the frames to the
   * channel's recent window in the same call that publishes them.
   */
  publish(topic: string, bytes: Uint8Array, retain?: { cid: number; frames: readonly Retained[] }): Promise<void> {
    const payload = Buffer.allocUnsafe(this.origin.length + bytes.byteLength);
    this.origin.copy(payload, 0);
    payload.set(bytes, this.origin.length);
    const channel = this.keys.topic(topic);
    if (this.cluster) return this.publishOne(channel, payload, retain);
    return new Promise((resolve, reject) => {
      this.queued.push({ channel, payload, retain: retain?.frames.length ? retain : undefined, resolve, reject });
      if (this.queued.length === 1) queueMicrotask(this.sendQueued);
    });
  }

  private readonly sendQueued = () => {
    const items = this.queued.splice(0);
    const keys: string[] = [];
    const args: (string | number | Buffer)[] = [this.windowSize];
    for (const q of items) {
      const frames = q.retain?.frames ?? [];
      args.push(q.channel, q.payload, frames.length);
      if (!q.retain) continue;
      keys.push(this.keys.recent(q.retain.cid), this.keys.recentHigh(q.retain.cid));
      pushFrames(args, frames);
    }
    (this.pub as unknown as Scripts).parleyPublishMany(keys.length, ...keys, ...args).then(
      () => {
        for (const q of items) q.resolve();
      },
      (err: unknown) => {
        for (const q of items) q.reject(err);
      },
    );
  };

  private async publishOne(channel: string, payload: Buffer, retain?: { cid: number; frames: readonly Retained[] }): Promise<void> {
    if (retain?.frames.length) {
      const args: (string | number | Buffer)[] = [this.windowSize, channel, payload, '1'];
      pushFrames(args, retain.frames);
      await (this.pub as unknown as Scripts).parleyPublishRetain(this.keys.recent(retain.cid), this.keys.recentHigh(retain.cid), ...args);
    } else await this.pub.spublish(channel, payload);
  }

  subscribe(topic: string): Promise<void> {
    const channel = this.keys.topic(topic);
    const existing = this.topics.get(channel);
    if (existing) return existing.ready;
    const ready = this.redisSubscribe(channel).catch((err: unknown) => {
      if (this.topics.get(channel)?.ready === ready) this.topics.delete(channel);
      throw err;
    });
    this.topics.set(channel, { topic, ready });
    return ready;
  }

  async unsubscribe(topic: string): Promise<void> {
    const channel = this.keys.topic(topic);
    const entry = this.topics.get(channel);
    if (!entry) return;
    // Stop delivering at once; messages already in flight for this channel are dropped.
    this.topics.delete(channel);
    await entry.ready.catch(() => {});
    if (this.topics.has(channel)) return; // re-subscribed meanwhile
    if (this.cluster) await this.sub.sunsubscribe(channel);
    else await this.sub.unsubscribe(channel);
  }

  onMessage(handler: (topic: string, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  healthy(): boolean {
    return !this.closed && this.probeOk && this.connReady(this.pub) && this.connReady(this.sub);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probeTimer);
    this.cancelProbe();
    this.pub.disconnect();
    this.sub.disconnect();
    this.updateHealth();
  }

  private async redisSubscribe(channel: string): Promise<void> {
    if (this.cluster) await this.sub.ssubscribe(channel);
    else await this.sub.subscribe(channel);
  }

  private onRedisMessage(channel: Buffer, message: Buffer): void {
    const name = channel.toString();
    const entry = this.topics.get(name);
    if (!entry) {
      if (this.probe?.waiting.has(name)) this.onProbe(name, message);
      return;
    }
    const len = message[0];
    if (len === undefined || message.length < 1 + len) {
      this.log.warn({ channel: name, bytes: message.length }, 'dropping malformed broker message');
      return;
    }
    if (len === this.origin.length - 1 && this.origin.compare(message, 0, 1 + len) === 0) return; // our own
    this.handler(entry.topic, message.subarray(1 + len));
  }

  private connReady(c: RedisClient): boolean {
    return c.status === 'ready';
  }

  private updateHealth(): void {
    const now = this.healthy();
    if (now === this.lastHealthy) return;
    this.lastHealthy = now;
    if (now) this.log.info('redis broker healthy');
    else if (!this.closed) this.log.warn('redis broker unhealthy');
    this.opts.onHealthChange?.(now);
  }

  /** One probe channel per shard (cluster) or one channel (standalone). */
  private probeChannels(): string[] {
    if (!this.cluster) return [this.keys.probe(this.opts.nodeId, 0)];
    const slots = (this.sub as Cluster).slots;
    const masters = new Set<string>();
    for (const owners of slots) if (owners?.[0]) masters.add(owners[0]);
    const out: string[] = [];
    // Probe channel k lands on slot hashSlot(k); take the first k for each master.
    for (let k = 0; masters.size > 0 && k < 100_000; k++) {
      const channel = this.keys.probe(this.opts.nodeId, k);
      const master = slots[hashSlot(channel)]?.[0];
      if (master && masters.delete(master)) out.push(channel);
    }
    return out;
  }

  private async runProbe(): Promise<void> {
    if (this.closed || this.probe || this.probeIntervalMs <= 0) return;
    if (!this.connReady(this.pub) || !this.connReady(this.sub)) return; // 'ready' will start one
    // Give ioredis its chance to restore a lost shard subscriber; if it never reports back, the
    // next probe after the timeout decides.
    if (this.subscribersLostAt && Date.now() - this.subscribersLostAt < this.probeTimeoutMs) return;
    const channels = this.probeChannels();
    if (channels.length === 0) return;
    const token = `${++this.probeSeq}`;
    const probe: Probe = {
      token,
      waiting: new Set(channels),
      timer: setTimeout(() => this.probeFailed(probe, 'timeout'), this.probeTimeoutMs),
    };
    this.probe = probe;
    try {
      if (this.cluster) {
        // Subscribed once and again after a shard subscriber was lost, each time awaited, so the
        // probe travels only once its channel is live on the (new) connection. SUNSUBSCRIBE first:
        // ioredis' subscriber group would otherwise list the channel twice.
        for (const ch of channels) {
          if (this.probeSubscribed.has(ch)) continue;
          await this.sub.sunsubscribe(ch);
          await this.sub.ssubscribe(ch);
          this.probeSubscribed.add(ch);
        }
        await Promise.all(channels.map((ch) => this.pub.spublish(ch, token)));
      } else {
        // Re-subscribing every time is cheap and orders the probe behind any re-subscription
        // still in flight on this connection: the reply means every earlier SUBSCRIBE is done.
        await (this.sub as Redis).subscribe(...channels);
        await Promise.all(channels.map((ch) => this.pub.publish(ch, token)));
      }
    } catch (err) {
      this.probeFailed(probe, err instanceof Error ? err.message : String(err));
    }
  }

  private cancelProbe(): void {
    if (this.probe) clearTimeout(this.probe.timer);
    this.probe = null;
  }

  private onProbe(channel: string, message: Buffer): void {
    const probe = this.probe;
    if (!probe || message.toString() !== probe.token) return;
    probe.waiting.delete(channel);
    if (probe.waiting.size > 0) return;
    clearTimeout(probe.timer);
    this.probe = null;
    this.probeOk = true;
    this.updateHealth();
  }

  private probeFailed(probe: Probe, reason: string): void {
    if (this.probe !== probe) return;
    clearTimeout(probe.timer);
    this.probe = null;
    this.probeOk = false;
    this.updateHealth();
    if (this.closed) return;
    this.log.warn({ reason, missing: [...probe.waiting] }, 'redis broker probe failed: reconnecting');
    // Either connection may be the dead one; reopen both. Subscriptions are restored on 'ready'.
    this.pub.disconnect(true);
    this.sub.disconnect(true);
  }
}

/** seq, frame, seq, frame, … as script arguments. ioredis sends Buffers as bytes (anything else as its String()): a view, no copy. */
function pushFrames(args: (string | number | Buffer)[], frames: readonly Retained[]): void {
  for (const r of frames) args.push(r.seq, Buffer.from(r.frame.buffer, r.frame.byteOffset, r.frame.byteLength));
}
