import type * as UwsApi from 'uWebSockets.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The one place that decides which uWebSockets.js build runs (the gateway and the bench's peers
 * both load it from here, `@parley/gateway/uws`).
 *
 * Two builds are installed, as npm aliases in optionalDependencies (neither has an install script;
 * each tarball carries every platform's binary, which is only opened here, at require time):
 * - `uws-modern`: uWS v20.57, binaries for Node 20, 22, 24 and 25, but linked against glibc 2.38;
 *   on an older glibc its require throws ("GLIBC_2.38 not found").
 * - `uWebSockets.js` (the legacy build, and the type definitions our code compiles against): uWS
 *   v20.30, binaries for Node 16, 18 and 20 only, glibc ≥ 2.27. When its binary does not load it
 *   falls back SILENTLY to a slow pure-JS implementation (it only prints a warning).
 * So the order is modern first, then legacy, and a build counts only when its native binary runs.
 * The code uses the API both builds share (docs/architecture.md, "uWebSockets.js builds").
 */
export interface UwsBuild {
  /** The npm alias it is installed under (and required by). */
  alias: string;
  /** The package on the registry. */
  package: string;
  /** What its native binary needs: printed when no build loads. */
  needs: string;
}

export const UWS_BUILDS: readonly UwsBuild[] = [
  {
    alias: 'uws-modern',
    package: '@btc-vision/uwebsockets.js',
    needs:
      'Node 20, 22, 24 or 25 (ABI 115, 127, 137, 141); Linux x64/arm64 with glibc ≥ 2.38 (Debian 13, Ubuntu 24.04 or later), macOS, Windows x64',
  },
  {
    alias: 'uWebSockets.js',
    package: '@trufflesuite/uws-js-unofficial',
    needs: 'Node 16, 18 or 20 (ABI 93, 108, 115); Linux x64/arm64/arm with glibc ≥ 2.27, macOS, Windows x64',
  },
];

/** What was loaded, for the startup log, /metrics and the bench's reports. */
export interface UwsInfo {
  package: string;
  /** The package's own version (e.g. 20.30.0-unofficial.0). */
  version: string;
  /** The uWebSockets.js release it is built from (e.g. v20.30.0). */
  uws: string;
  node: string;
  /** process.versions.modules: the binary a build needs for this Node. */
  abi: string;
  native: boolean;
}

export interface LoadedUws {
  uWS: typeof UwsApi;
  build: UwsBuild;
  info: UwsInfo;
  /** The builds tried before this one (or after, when this one is the JS fallback), and why not. */
  skipped: { package: string; reason: string }[];
}

/** How packages are found; the unit test stubs it (this machine cannot load the modern binary). */
export interface UwsResolver {
  /** require(): throws when the package is missing or its binary refuses to load. */
  load(alias: string): unknown;
  /** The installed package's version. */
  version(alias: string): string;
}

function nodeResolver(): UwsResolver {
  const require = createRequire(import.meta.url);
  return {
    load: (alias) => require(alias),
    version(alias) {
      // The modern package's `exports` hide its package.json from require(): read it from disk,
      // walking up from its entry point (the legacy one lives in src/).
      for (let dir = dirname(require.resolve(alias)); dir !== dirname(dir); dir = dirname(dir)) {
        try {
          return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
        } catch {
          // not here: one level up
        }
      }
      return 'unknown';
    },
  };
}

/** The native build's App is a C++ function; the legacy build's JS fallback is not. */
function isNative(mod: unknown): boolean {
  const app = (mod as { App?: unknown } | null)?.App;
  return typeof app === 'function' && Function.prototype.toString.call(app).includes('[native code]');
}

/** The first line that says what went wrong (the modern build prefixes the dlopen error with a paragraph). */
function reasonOf(alias: string, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if ((err as { code?: string } | null)?.code === 'MODULE_NOT_FOUND' && text.includes(`'${alias}'`))
    return 'not installed (npm skipped the optional dependency)';
  const lines = text.split('\n').filter(Boolean);
  return (lines.find((l) => /GLIBC|cannot open|invalid ELF|wrong ELF|No such file|not a valid|Error:/.test(l)) ?? lines[0] ?? text).trim();
}

/** The legacy build reads this itself (its debug switch to force the JS fallback); skipping the modern build keeps it meaningful. */
const forcedFallback = (env: NodeJS.ProcessEnv) => ['true', 'True', 'TRUE', '1'].includes(env.UWS_USE_FALLBACK ?? '');

/**
 * Tries the builds in order and returns the first whose native binary runs; when none does, the
 * legacy build's JS fallback (native: false, refused by requireNativeUws unless allowed). Throws
 * when no build can be required at all.
 */
export function loadUws(
  resolver: UwsResolver = nodeResolver(),
  env: NodeJS.ProcessEnv = process.env,
  builds: readonly UwsBuild[] = UWS_BUILDS,
): LoadedUws {
  const skipped: LoadedUws['skipped'] = [];
  let fallback: Omit<LoadedUws, 'skipped'> | undefined;
  const infoOf = (build: UwsBuild, native: boolean): UwsInfo => {
    const version = resolver.version(build.alias);
    return {
      package: build.package,
      version,
      uws: `v${/^\d+\.\d+\.\d+/.exec(version)?.[0] ?? version}`,
      node: process.version,
      abi: process.versions.modules,
      native,
    };
  };
  for (const build of builds) {
    if (build !== builds[builds.length - 1] && forcedFallback(env)) {
      skipped.push({ package: build.package, reason: 'skipped: UWS_USE_FALLBACK is set' });
      continue;
    }
    let mod: unknown;
    try {
      mod = resolver.load(build.alias);
    } catch (err) {
      skipped.push({ package: build.package, reason: reasonOf(build.alias, err) });
      continue;
    }
    if (isNative(mod)) return { uWS: mod as typeof UwsApi, build, info: infoOf(build, true), skipped };
    const reason = forcedFallback(env)
      ? 'UWS_USE_FALLBACK is set: it runs its JavaScript implementation'
      : 'its native binary did not load; it fell back to its JavaScript implementation';
    skipped.push({ package: build.package, reason });
    fallback ??= { uWS: mod as typeof UwsApi, build, info: infoOf(build, false) };
  }
  if (fallback) return { ...fallback, skipped };
  throw new Error(noNativeUwsMessage(skipped, builds));
}

function glibc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'no glibc';
}

/** Names both builds, what each needs, and why each did not load here. */
export function noNativeUwsMessage(skipped: LoadedUws['skipped'], builds: readonly UwsBuild[] = UWS_BUILDS): string {
  const here = `Node ${process.version} (ABI ${process.versions.modules}), ${process.platform}-${process.arch}, ${process.platform === 'linux' ? glibc() : process.platform}`;
  const lines = builds.map((b) => {
    const why = skipped.find((s) => s.package === b.package)?.reason ?? 'not tried';
    return `  - ${b.package} (npm alias ${b.alias}) needs ${b.needs}\n    here: ${why}`;
  });
  return [
    `No native uWebSockets.js build loads on ${here}:`,
    ...lines,
    'Use Node 22 or 24 on a system with glibc ≥ 2.38, or Node 20 (see README, "Run it").',
  ].join('\n');
}

let loaded: LoadedUws | undefined;

/** The process's build, loaded once, on first use. */
export function loadedUws(): LoadedUws {
  loaded ??= loadUws();
  return loaded;
}

/** The loaded module. Loaded when this file is imported, as a static `import uWS` would be. */
export const uWS: typeof UwsApi = loadedUws().uWS;
/** uWS's types under the same name, so that `uWS.HttpResponse` reads as it did with `import uWS from 'uWebSockets.js'`. */
export declare namespace uWS {
  export type TemplatedApp = UwsApi.TemplatedApp;
  export type HttpRequest = UwsApi.HttpRequest;
  export type HttpResponse = UwsApi.HttpResponse;
  export type WebSocket<UserData> = UwsApi.WebSocket<UserData>;
  export type us_listen_socket = UwsApi.us_listen_socket;
}

/** True when a native build runs (false only on the legacy build's JS fallback). */
export function uwsIsNative(): boolean {
  return loadedUws().info.native;
}

let announced = false;

/**
 * Logs which build runs (once per process) and throws unless it is native (or the JS fallback is
 * explicitly allowed, for debugging).
 */
export function requireNativeUws(
  logger: { fatal(msg: string): void; info(obj: object, msg: string): void },
  allowFallback: boolean,
): boolean {
  const u = loadedUws();
  if (!u.info.native) {
    logger.fatal(`uWebSockets.js is running its slow JavaScript FALLBACK.\n${noNativeUwsMessage(u.skipped)}`);
    if (!allowFallback)
      throw new Error('uWebSockets.js native binary not loaded; refusing to start (PARLEY_ALLOW_UWS_FALLBACK=true overrides)');
  }
  if (!announced) logger.info({ uws: u.info, skipped: u.skipped.length ? u.skipped : undefined }, 'uWebSockets.js loaded');
  announced = true;
  return u.info.native;
}
