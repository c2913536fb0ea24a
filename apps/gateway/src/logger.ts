import pino from 'pino';

export type Logger = pino.Logger;

/** Root logger; everything else gets a child bound to node / connection ids. Tokens are never logged. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { node: nodeId },
    redact: { paths: ['token', 'password', '*.token', '*.password', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
