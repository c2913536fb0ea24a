import type * as Legacy from 'uWebSockets.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Modern from 'uws-modern';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadUws, noNativeUwsMessage, UWS_BUILDS, type UwsResolver } from './uws.js';

/**
 * Module resolution is stubbed here, and only here: this machine (glibc 2.36) cannot load the
 * modern binary, so the order and the messages are checked with stand-in modules. A genuinely
 * native function (Math.max) stands for a native build's App, a JS function for the fallback's.
 */
const nativeModule = { App: Math.max };
const jsFallback = { App: function App() {} };
const glibcError = new Error(
  'This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25 on (glibc) Linux, macOS and Windows.\n\n' +
    "Error: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/uws_linux_x64_127.node)",
);
const notInstalled = (alias: string) => Object.assign(new Error(`Cannot find module '${alias}'`), { code: 'MODULE_NOT_FOUND' });

function resolver(byAlias: Record<string, () => unknown>): UwsResolver & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    load(alias) {
      loaded.push(alias);
      const load = byAlias[alias];
      if (!load) throw notInstalled(alias);
      return load();
    },
    version: (alias) => (alias === 'uws-modern' ? '20.57.0' : '20.30.0-unofficial.0'),
  };
}

describe('loadUws: which uWebSockets.js build runs', () => {
  it('takes the modern build when its binary loads, without touching the legacy one', () => {
    const r = resolver({ 'uws-modern': () => nativeModule, 'uWebSockets.js': () => nativeModule });
    const u = loadUws(r, {});
    expect(r.loaded).toEqual(['uws-modern']);
    expect(u.info).toMatchObject({ package: '@btc-vision/uwebsockets.js', version: '20.57.0', uws: 'v20.57.0', native: true });
    expect(u.info.abi).toBe(process.versions.modules);
    expect(u.skipped).toEqual([]);
  });

  it('falls back to the legacy build when the modern binary does not load (old glibc), and says why', () => {
    const r = resolver({
      'uws-modern': () => {
        throw glibcError;
      },
      'uWebSockets.js': () => nativeModule,
    });
    const u = loadUws(r, {});
    expect(r.loaded).toEqual(['uws-modern', 'uWebSockets.js']);
    expect(u.info).toMatchObject({
      package: '@trufflesuite/uws-js-unofficial',
      version: '20.30.0-unofficial.0',
      uws: 'v20.30.0',
      native: true,
    });
    expect(u.skipped).toEqual([
      { package: '@btc-vision/uwebsockets.js', reason: expect.stringMatching(/^Error: .*GLIBC_2\.38' not found/) },
    ]);
  });

  it('never picks the JS fallback over a native build, and reports it (not native) when nothing else loads', () => {
    const r = resolver({
      'uws-modern': () => {
        throw glibcError;
      },
      'uWebSockets.js': () => jsFallback,
    });
    const u = loadUws(r, {});
    expect(u.uWS).toBe(jsFallback);
    expect(u.info.native).toBe(false);
    expect(u.skipped.map((s) => s.package)).toEqual(['@btc-vision/uwebsockets.js', '@trufflesuite/uws-js-unofficial']);
    expect(u.skipped[1]?.reason).toMatch(/fell back to its JavaScript implementation/);
  });

  it('the error names both builds, what each needs and why each did not load', () => {
    const r = resolver({
      'uws-modern': () => {
        throw glibcError;
      },
      'uWebSockets.js': () => jsFallback,
    });
    const text = noNativeUwsMessage(loadUws(r, {}).skipped);
    expect(text).toContain(`Node ${process.version} (ABI ${process.versions.modules})`);
    expect(text).toMatch(/@btc-vision\/uwebsockets\.js \(npm alias uws-modern\) needs Node 20, 22, 24 or 25.*glibc ≥ 2\.38/);
    expect(text).toMatch(/here: Error: .*GLIBC_2\.38' not found/);
    expect(text).toMatch(/@trufflesuite\/uws-js-unofficial \(npm alias uWebSockets\.js\) needs Node 16, 18 or 20/);
    expect(text).toMatch(/here: its native binary did not load; it fell back to its JavaScript implementation/);
    expect(text).toMatch(/Use Node 22 or 24 on a system with glibc ≥ 2\.38, or Node 20/);
  });

  it('throws that message when no build is installed at all', () => {
    expect(() => loadUws(resolver({}), {})).toThrow(
      /No native uWebSockets.js build loads[\s\S]*uws-modern[\s\S]*here: not installed[\s\S]*uWebSockets\.js\) needs[\s\S]*here: not installed/,
    );
  });

  it("UWS_USE_FALLBACK (the legacy build's own debug switch) skips the modern build", () => {
    const r = resolver({ 'uws-modern': () => nativeModule, 'uWebSockets.js': () => jsFallback });
    const u = loadUws(r, { UWS_USE_FALLBACK: '1' });
    expect(r.loaded).toEqual(['uWebSockets.js']);
    expect(u.info.native).toBe(false);
    expect(u.skipped[0]).toEqual({ package: '@btc-vision/uwebsockets.js', reason: 'skipped: UWS_USE_FALLBACK is set' });
  });

  it('lists the modern build first', () => {
    expect(UWS_BUILDS.map((b) => b.alias)).toEqual(['uws-modern', 'uWebSockets.js']);
  });
});

/**
 * The code compiles against the legacy types (`uWebSockets.js`) and runs on either build: these
 * assertions (checked by `npm run typecheck`) pin the members it uses to the same signature in
 * both index.d.ts files, and the two differences to what the code relies on. A new uWS release
 * that changes one of them fails the typecheck here.
 */
describe('the uWS API the gateway and the bench use is the same in both builds', () => {
  it('module functions and constants', () => {
    expectTypeOf<Parameters<typeof Modern.App>>().toEqualTypeOf<Parameters<typeof Legacy.App>>(); // TemplatedApp differs: see below
    expectTypeOf<Parameters<typeof Modern.SSLApp>>().toEqualTypeOf<Parameters<typeof Legacy.SSLApp>>(); // TemplatedApp differs: see below
    expectTypeOf<(typeof Modern)['us_listen_socket_close']>().toEqualTypeOf<(typeof Legacy)['us_listen_socket_close']>();
    expectTypeOf<(typeof Modern)['us_socket_local_port']>().toEqualTypeOf<(typeof Legacy)['us_socket_local_port']>();
    expectTypeOf<(typeof Modern)['getParts']>().toEqualTypeOf<(typeof Legacy)['getParts']>();
    expectTypeOf<typeof Modern.DISABLED>().toEqualTypeOf<typeof Legacy.DISABLED>();
  });

  it('TemplatedApp, HttpResponse, HttpRequest, WebSocket', () => {
    expectTypeOf<Modern.TemplatedApp['publish']>().toEqualTypeOf<Legacy.TemplatedApp['publish']>();
    expectTypeOf<Modern.TemplatedApp['numSubscribers']>().toEqualTypeOf<Legacy.TemplatedApp['numSubscribers']>();
    expectTypeOf<Modern.HttpResponse['upgrade']>().toEqualTypeOf<Legacy.HttpResponse['upgrade']>();
    expectTypeOf<Modern.HttpResponse['cork']>().toEqualTypeOf<Legacy.HttpResponse['cork']>();
    expectTypeOf<Modern.HttpResponse['onData']>().toEqualTypeOf<Legacy.HttpResponse['onData']>();
    expectTypeOf<Modern.HttpResponse['onAborted']>().toEqualTypeOf<Legacy.HttpResponse['onAborted']>();
    expectTypeOf<Modern.HttpResponse['end']>().toEqualTypeOf<Legacy.HttpResponse['end']>();
    expectTypeOf<Modern.HttpResponse['writeStatus']>().toEqualTypeOf<Legacy.HttpResponse['writeStatus']>();
    expectTypeOf<Modern.HttpResponse['writeHeader']>().toEqualTypeOf<Legacy.HttpResponse['writeHeader']>();
    expectTypeOf<Modern.HttpRequest['getHeader']>().toEqualTypeOf<Legacy.HttpRequest['getHeader']>();
    expectTypeOf<Modern.HttpRequest['getMethod']>().toEqualTypeOf<Legacy.HttpRequest['getMethod']>();
    expectTypeOf<Modern.HttpRequest['getUrl']>().toEqualTypeOf<Legacy.HttpRequest['getUrl']>();
    expectTypeOf<Modern.WebSocket<0>['send']>().toEqualTypeOf<Legacy.WebSocket<0>['send']>();
    expectTypeOf<Modern.WebSocket<0>['end']>().toEqualTypeOf<Legacy.WebSocket<0>['end']>();
    expectTypeOf<Parameters<Modern.WebSocket<0>['cork']>>().toEqualTypeOf<Parameters<Legacy.WebSocket<0>['cork']>>();
    expectTypeOf<Modern.WebSocket<0>['subscribe']>().toEqualTypeOf<Legacy.WebSocket<0>['subscribe']>();
    expectTypeOf<Modern.WebSocket<0>['unsubscribe']>().toEqualTypeOf<Legacy.WebSocket<0>['unsubscribe']>();
    expectTypeOf<Modern.WebSocket<0>['publish']>().toEqualTypeOf<Legacy.WebSocket<0>['publish']>();
    expectTypeOf<Modern.WebSocket<0>['getBufferedAmount']>().toEqualTypeOf<Legacy.WebSocket<0>['getBufferedAmount']>();
    expectTypeOf<Modern.WebSocket<0>['getUserData']>().toEqualTypeOf<Legacy.WebSocket<0>['getUserData']>();
  });

  it('the two differences the code touches', () => {
    // closeOnBackpressureLimit: number in v20.30, boolean in v20.57. The gateway's `0` leaves it
    // off on both (the hub closes with 4101 itself; e2e-resilience sees that on both builds).
    expectTypeOf<Legacy.WebSocketBehavior<0>['closeOnBackpressureLimit']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Modern.WebSocketBehavior<0>['closeOnBackpressureLimit']>().toEqualTypeOf<boolean | undefined>();
    // getParameter(i) (and getQuery(key)) may be undefined in v20.57's types; at run time both
    // builds return undefined for a missing query key. The code treats '' and undefined alike
    // (`token ? … : …`, `?? ''`).
    expectTypeOf<ReturnType<Legacy.HttpRequest['getParameter']>>().toEqualTypeOf<string>();
    expectTypeOf<ReturnType<Modern.HttpRequest['getParameter']>>().toEqualTypeOf<string | undefined>();
  });

  it('uses no member only one build has (the types are the legacy build’s, so only these compile yet fail on v20.57)', () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const sources = ['apps/gateway/src', 'bench/src'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.endsWith('uws.test.ts'))
        .map((f) => readFileSync(join(root, dir, f), 'utf8')),
    );
    expect(sources.length).toBeGreaterThan(20);
    for (const text of sources) expect(text).not.toMatch(/\.(sendFirstFragment|sendFragment|sendLastFragment|_cfg)\(/);
  });
});
