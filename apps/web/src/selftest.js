// Self-test: run the exporter's test vectors (model.json "selftest") and compare with the
// eager PyTorch outputs, in [0, 1] pixel space, against the artifact's selftest_min_psnr_db.
import { psnr } from './stats.js';

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

async function fetchFloat32(url, expectedLength) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`self-test vector ${url} answered ${response.status}`);
  const buffer = await response.arrayBuffer();
  if (buffer.byteLength !== expectedLength * 4) {
    throw new Error(`self-test vector ${url} holds ${buffer.byteLength} bytes, expected ${expectedLength * 4}`);
  }
  if (littleEndian) return new Float32Array(buffer);
  const view = new DataView(buffer); // files are little-endian float32
  return Float32Array.from({ length: expectedLength }, (_, i) => view.getFloat32(4 * i, true));
}

// Map values from range [lo, hi] to [0, 1] pixel space, clamped like an image.
function toUnit(data, [lo, hi]) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 1) out[i] = Math.min(1, Math.max(0, (data[i] - lo) / (hi - lo)));
  return out;
}

function fromUnit(unit, [lo, hi]) {
  const out = new Float32Array(unit.length);
  for (let i = 0; i < unit.length; i += 1) out[i] = lo + unit[i] * (hi - lo);
  return out;
}

export async function runSelfTest(runner) {
  const { model } = runner;
  const spec = model.selftest;
  if (!spec) throw new Error('model.json has no "selftest" section: re-export the model');
  const threshold = model.selftestMinPsnrDb;
  const length = spec.shape.reduce((a, b) => a * b, 1);
  const cases = [];
  for (let i = 0; i < spec.inputs.length; i += 1) {
    const input = await fetchFloat32(new URL(spec.inputs[i], model.baseUrl), length);
    const expected = await fetchFloat32(new URL(spec.expected[i], model.baseUrl), length);
    const feed = fromUnit(toUnit(input, spec.range), model.input.range);
    const { data, ms } = await runner.runTensor(runner.makeTensor(feed));
    const value = psnr(toUnit(data, model.output.range), toUnit(expected, spec.range));
    cases.push({ input: spec.inputs[i], psnr_db: value, ms, pass: value >= threshold });
  }
  return {
    model: model.name,
    precision: model.precision,
    runtime: runner.runtime,
    threshold_db: threshold,
    cases,
    pass: cases.length > 0 && cases.every((c) => c.pass),
  };
}
