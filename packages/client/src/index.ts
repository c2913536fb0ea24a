export { ParleyClient } from './client.js';
export { ParleyError } from './errors.js';
export { backoffDelay, shouldReconnect } from './backoff.js';
export type * from './types.js';
export { CloseCode, ErrorCode, Limits, SUBPROTOCOL, isRetryable } from '@parley/protocol';
