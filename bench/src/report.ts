import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { measuredUws } from './uws-build.js';

/** The value of `--name=value` in a scenario's args. */
export function flag(args: readonly string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Where a scenario writes its markdown: `--out=dir`, else bench/results. */
export function outDir(args: readonly string[]): string {
  return flag(args, 'out') ?? join(import.meta.dirname, '..', 'results');
}

/** Writes `dir/file` (creating dir) and returns its path. */
export function writeReport(dir: string, file: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

/** A progress printer for stderr: `[scenario 1.2s] message`. */
export function progress(scenario: string): (message: string) => void {
  const started = performance.now();
  return (message) => process.stderr.write(`[${scenario} ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** The head of a results file: title, the command that wrote it, and the run facts as JSON. */
export function reportHead(title: string, command: string, meta: unknown): string[] {
  return [`# ${title}`, '', `\`${command}\``, '', '```', JSON.stringify(meta), '```', ''];
}

/** Machine and run facts that head every results file. */
export function machine(): Record<string, unknown> {
  // The load average tells whether the box was shared with other work during the run.
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    date: new Date().toISOString(),
    loadAvg1m: loadavg()[0],
    uws: measuredUws(),
  };
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The results file of a scenario whose result is one record (idle, durable, resume, xnode): the
 * usual head, what was measured, and a table of every field (nested fields as `a.b`), labelled.
 */
export function recordMarkdown(
  title: string,
  command: string,
  description: string,
  result: Record<string, unknown>,
  labels: Record<string, string> = {},
): string {
  const rows: string[] = [];
  const walk = (prefix: string, o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(key, v as Record<string, unknown>);
      else rows.push(`| ${labels[key] ?? key} | ${Array.isArray(v) ? v.join(', ') : String(v)} |`);
    }
  };
  walk('', result);
  return [...reportHead(title, command, machine()), description, '', '| | |', '|---|---:|', ...rows, ''].join('\n');
}
