export { CloseCode, ErrorCode, isRetryable, Limits, SUBPROTOCOL } from '@parley/protocol';
export { backoffDelay, shouldReconnect } from './backoff.js';
export { ParleyClient } from './client.js';
export { ParleyError } from './errors.js';
export type * from './types.js';
