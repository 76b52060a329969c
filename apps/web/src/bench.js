// Benchmark mode: N timed runs after warm-up, reported in the `mobilegan bench` row schema
// (apps/bench-result.schema.json) so `mobilegan bench --import` can merge it.
import { quantile } from './stats.js';

export const BENCH_SCHEMA = 'mobilegan.bench/1';

function describeMachine() {
  const ua = navigator.userAgent;
  const os = /Android [\d.]+/.exec(ua)?.[0]
    ?? /(iPhone|iPad); CPU (?:iPhone )?OS [\d_]+/.exec(ua)?.[0]?.replace(/_/g, '.')
    ?? /Mac OS X [\d_.]+/.exec(ua)?.[0]?.replace(/_/g, '.')
    ?? /Windows NT [\d.]+/.exec(ua)?.[0]
    ?? (/Linux/.test(ua) ? 'Linux' : navigator.platform || 'unknown');
  const model = /Android [\d.]+; ([^;)]+)/.exec(ua)?.[1] ?? /(iPhone|iPad)/.exec(ua)?.[1];
  const browser = /(Chrome|Chromium|Firefox|Version)\/[\d.]+/.exec(ua)?.[0] ?? 'browser';
  return {
    device: `${model ?? navigator.platform ?? 'unknown'} (${browser}, ${navigator.hardwareConcurrency ?? '?'} cores)`,
    os,
    user_agent: ua,
  };
}

export async function runBenchmark(runner, { runs = 30, warmup = 5, onProgress = () => {} } = {}) {
  if (!(Number.isInteger(runs) && runs > 0)) throw new Error('runs must be a positive integer');
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error('warm-up must be an integer >= 0');
  for (let i = 0; i < warmup; i += 1) {
    await runner.runTensor();
    onProgress(`warm-up ${i + 1}/${warmup}`);
  }
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    times.push((await runner.runTensor()).ms);
    onProgress(`run ${i + 1}/${runs}`);
  }
  const { model } = runner;
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    schema: BENCH_SCHEMA,
    created: new Date().toISOString(),
    app: { name: 'mobilegan-web', runtime_version: runner.ortVersion ?? null },
    machine: describeMachine(),
    rows: [{
      model: model.name,
      runtime: runner.runtime,
      precision: model.precision,
      threads: runner.threads,
      size: model.height === model.width ? model.height : [model.height, model.width],
      median_ms: round(quantile(times, 0.5)),
      p10_ms: round(quantile(times, 0.1)),
      p90_ms: round(quantile(times, 0.9)),
      runs,
      warmup,
      source: 'device',
    }],
  };
}
