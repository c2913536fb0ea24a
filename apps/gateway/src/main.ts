import { allocatorNote, processAllocator } from './allocator.js';
import { buildPorts } from './compose.js';
import { ConfigError, parseConfig } from './config.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { requireNativeUws } from './uws.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel, config.nodeId, config.logPretty);
  requireNativeUws(logger, config.allowUwsFallback); // before touching any store
  const allocator = processAllocator();
  logger.info({ allocator }, allocatorNote(allocator));
  const ports = await buildPorts(config, logger);
  const gw = await startGateway(config, ports, logger);
  logger.info(`Parley is up: http://localhost:${gw.port}  (WebSocket ws://localhost:${gw.port}/ws)`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    gw.drain()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      });
  };
  // A bug in one request must not take every connection down with it: log loudly, keep serving.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
