import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';

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
