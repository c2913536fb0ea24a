import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `apps/gateway`, whether the code runs from `src` (tsx, vitest) or from the bundle `npm start`
 * builds (`dist/*.js`, scripts/build.mjs): this module and the bundle's files both sit one level
 * below it. Files the gateway reads at run time (SQL migrations, Lua scripts, the built web
 * client) are found from here, never relative to the module that reads them, whose own location
 * the bundle does not keep.
 */
export const GATEWAY_DIR = fileURLToPath(new URL('..', import.meta.url));

/** A file of the gateway's sources (the Lua scripts are read from `src` in both cases). */
export const gatewayFile = (...path: string[]): string => join(GATEWAY_DIR, ...path);
