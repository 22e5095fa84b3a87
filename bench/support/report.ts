// One JSON line per figure. `baseline` is the raw library doing the same work in the same run, so the
// ratio stays meaningful on a noisy 2-core machine. For "lower is better" units (ms, us) the ratio is
// still value / baseline: read it as "times the raw cost".
export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number | null;
  /** Free-form context: goal, sample size, comparison figures. */
  note?: string;
}

export function report(f: Figure): void {
  const ratio = f.baseline ? round(f.value / f.baseline, 3) : null;
  const line: Record<string, unknown> = { bench: f.bench, metric: f.metric, value: round(f.value, 3), unit: f.unit, baseline: f.baseline == null ? null : round(f.baseline, 3), ratio };
  if (f.note) line.note = f.note;
  process.stdout.write(JSON.stringify(line) + '\n');
}

export function round(n: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}

/** Percentile (0..100) of an unsorted sample; nearest-rank. */
export function percentile(sample: number[], p: number): number {
  if (sample.length === 0) return NaN;
  const s = [...sample].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx];
}

/** Runs `fn` and returns elapsed milliseconds (high resolution). */
export async function timeIt(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Best of `runs` timings: the least disturbed run on a shared machine. */
export async function bestOf(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, await timeIt(fn));
  return best;
}
