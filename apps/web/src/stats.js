// Latency statistics shared by the live view and the benchmark.

// Value at quantile q (0..1) with linear interpolation between order statistics.
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

// The last `capacity` latencies; median() is what the screen shows.
export class LatencyWindow {
  constructor(capacity = 30) {
    this.capacity = capacity;
    this.values = [];
  }

  push(ms) {
    this.values.push(ms);
    if (this.values.length > this.capacity) this.values.shift();
  }

  median() {
    return median(this.values);
  }

  get count() {
    return this.values.length;
  }
}

// PSNR in pixel space on [0, 1] values: 10 * log10(1 / MSE) (docs/model-json.md).
export function psnr(a, b) {
  if (a.length !== b.length) throw new Error(`psnr: length ${a.length} != ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}
