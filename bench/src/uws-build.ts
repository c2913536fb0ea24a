import { loadedUws, noNativeUwsMessage, type UwsInfo } from '@parley/gateway/uws';

/**
 * Which uWebSockets.js build the bench measured. The gateways and the bare-uWS peers pick their
 * build with the gateway's loader (`@parley/gateway/uws`) and report it (the gateway in its
 * startup log, a peer in its ready line); every distinct build seen goes into the scenario's JSON
 * line and results file, and is printed once on stderr.
 */
const seen = new Map<string, UwsInfo>();

export function noteUws(who: string, info: UwsInfo): void {
  const key = JSON.stringify(info);
  if (seen.has(key)) return;
  seen.set(key, info);
  process.stderr.write(`[bench] ${who} runs uWebSockets.js ${describeUws(info)}\n`);
}

export function measuredUws(): UwsInfo[] {
  return [...seen.values()];
}

export function describeUws(u: UwsInfo): string {
  return `${u.package}@${u.version} (uWS ${u.uws}, Node ${u.node}, ABI ${u.abi}, ${u.native ? 'native' : 'JS FALLBACK'})`;
}

/**
 * Fails fast, before any database or server is set up, when this host would run uWS's JS
 * fallback (the servers the bench starts load the same build as this process).
 */
export function refuseUwsFallback(): void {
  const u = loadedUws();
  if (u.info.native) return;
  throw new Error(`uWebSockets.js would run its JS fallback here: refusing to benchmark it.\n${noNativeUwsMessage(u.skipped)}`);
}
