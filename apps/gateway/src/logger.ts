import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Root logger; everything else gets a child bound to node / connection ids. Tokens are never
 * logged. JSON lines by default (for log shippers); `pretty` (PARLEY_LOG_PRETTY) prints coloured
 * one-line records through pino-pretty in a worker thread, for development.
 */
export function createLogger(level: string, nodeId: string, pretty = false, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { node: nodeId },
    redact: { paths: ['token', 'password', '*.token', '*.password', 'req.headers.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
