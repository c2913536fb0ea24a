import uWS from 'uWebSockets.js';
import { createRequire } from 'node:module';

/**
 * The uWebSockets.js mirror we install falls back SILENTLY to a slow pure-JS implementation when
 * its native binary cannot be loaded (wrong Node ABI, wrong libc). We detect that here: the native
 * build's App is a C++ function ("[native code]"), and the binary appears in the require cache.
 */
export function uwsIsNative(): boolean {
  const appIsNative = Function.prototype.toString.call(uWS.App).includes('[native code]');
  const require = createRequire(import.meta.url);
  const binaryLoaded = Object.keys(require.cache).some((k) => /uws_.*\.node$/.test(k));
  return appIsNative || binaryLoaded;
}

export { uWS };

/** Logs loudly and throws unless the native build is loaded (or the fallback is explicitly allowed). */
export function requireNativeUws(logger: { fatal(msg: string): void }, allowFallback: boolean): boolean {
  const native = uwsIsNative();
  if (!native) {
    logger.fatal('uWebSockets.js is running its slow JavaScript FALLBACK (native binary failed to load: Node 20 + glibc required)');
    if (!allowFallback)
      throw new Error('uWebSockets.js native binary not loaded; refusing to start (PARLEY_ALLOW_UWS_FALLBACK=true overrides)');
  }
  return native;
}
