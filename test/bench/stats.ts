/** Small helpers shared by the benchmarks: percentiles, a plain-text table, how busy the process was. */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The q-quantile (0..1) of `values` by nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]) => quantile(values, 0.5);
export const p95 = (values: readonly number[]) => quantile(values, 0.95);

/** Rounds to `digits` decimals for display and JSON. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints rows as an aligned table. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** How busy this process was: CPU (user + system) as % of one core, and its event loop delay. */
export interface Busy {
  cpuPct: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Starts measuring how busy the process is; the function returned stops and reports. */
export function busy(): () => Busy {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    h.disable();
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuPct: round((100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - t0)),
      loopDelayP99Ms: round(h.percentile(99) / 1e6),
      loopDelayMaxMs: round(h.max / 1e6),
    };
  };
}

/** A numeric command-line option: `v` (or `fallback` when absent), at least `min`. @throws RangeError */
export function num(v: string | undefined, fallback: number, name: string, min = 0): number {
  const n = Number(v ?? fallback);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} expected a number ≥ ${min}, got ${v}`);
  return n;
}

/** `--only a,b`: whether each of `all` scenarios is to run. @throws RangeError for an unknown name */
export function onlyScenarios<S extends string>(only: string, all: readonly S[]): (s: S) => boolean {
  const chosen = new Set(only.split(',').map((s) => s.trim()));
  for (const s of chosen) {
    if (!(all as readonly string[]).includes(s)) {
      throw new RangeError(`--only expected some of ${all.join(',')}, got ${s}`);
    }
  }
  return (s) => chosen.has(s);
}
