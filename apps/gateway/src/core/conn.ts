import type { Role } from '@parley/protocol';
import type { StrikeCounter, TokenBucket } from './rate-limit.js';

/** Per-connection state kept in uWS user data. Server-side truth for membership checks. */
export interface Conn {
  connId: string;
  userId: number;
  user: string;
  guest: boolean;
  /** Channels this connection has joined, with the role it holds there. */
  channels: Map<number, Role>;
  bucket: TokenBucket;
  rateStrikes: StrikeCounter;
  badFrames: StrikeCounter;
  open: boolean;
}
