// Unit tests of the browser-independent helpers: `node --test tests/unit.test.mjs`.
import assert from 'node:assert/strict';
import test from 'node:test';
import { FrameGate } from '../src/frame-gate.js';
import { parseModelCard, pickArtifact, ModelCardError } from '../src/model-card.js';
import { LatencyWindow, psnr, quantile } from '../src/stats.js';

const io = (name) => ({ name, shape: [1, 3, 8, 16], layout: 'NCHW', dtype: 'float32', range: [0, 1] });
const card = (artifacts) => ({ schema_version: 2, name: 'm', size: [8, 16], artifacts, selftest: null });
const onnx = (precision) => ({
  target: 'onnx', file: `m_${precision}.onnx`, precision, input: io('image'), output: io('stylized'),
  selftest_min_psnr_db: precision === 'int8' ? 30 : 60,
});

test('quantile interpolates between order statistics', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.1), 14);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.9), 46);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('latency window keeps the last N values', () => {
  const window = new LatencyWindow(3);
  for (const v of [100, 1, 2, 3]) window.push(v);
  assert.equal(window.count, 3);
  assert.equal(window.median(), 2);
});

test('psnr follows 10 log10(1 / MSE)', () => {
  assert.equal(psnr([0.5, 0.5], [0.5, 0.5]), Infinity);
  assert.ok(Math.abs(psnr([0, 0], [0.1, 0.1]) - 20) < 1e-9);
  assert.throws(() => psnr([0], [0, 1]));
});

test('model card: picks the requested precision, else fp32, with its own self-test threshold', () => {
  const c = card([{ target: 'executorch', file: 'x.pte', precision: 'fp32' }, onnx('int8'), onnx('fp32')]);
  assert.equal(pickArtifact(c, 'int8').file, 'm_int8.onnx');
  assert.equal(pickArtifact(c, undefined).file, 'm_fp32.onnx');
  const parsed = parseModelCard(c);
  assert.deepEqual([parsed.height, parsed.width, parsed.file, parsed.selftestMinPsnrDb], [8, 16, 'm_fp32.onnx', 60]);
  assert.equal(parseModelCard(c, { precision: 'int8' }).selftestMinPsnrDb, 30);
});

test('model card: a precision that is not exported is an error, not a silent fallback', () => {
  assert.throws(() => parseModelCard(card([onnx('fp32')]), { precision: 'int8' }), /no int8 ONNX model \(listed: fp32\)/);
});

test('model card: an artifact without selftest_min_psnr_db is refused', () => {
  const bare = onnx('fp32');
  delete bare.selftest_min_psnr_db;
  assert.throws(() => parseModelCard(card([bare])), /selftest_min_psnr_db/);
});

test('model card: clear errors for what the web app cannot run', () => {
  assert.throws(() => parseModelCard(card([{ target: 'coreml', file: 'm.mlpackage' }])), ModelCardError);
  assert.throws(() => parseModelCard({ ...card([onnx('fp32')]), schema_version: 1 }), /schema_version/);
  assert.throws(() => parseModelCard({ ...card([onnx('fp32')]), schema_version: 3 }), /schema_version/);
  const nhwc = onnx('fp32');
  nhwc.input = { ...nhwc.input, layout: 'NHWC' };
  assert.throws(() => parseModelCard(card([nhwc])), /NCHW/);
});

// A promise and the function that settles it, to step the gate by hand.
function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

test('frame gate: camera frames are skipped while a tool waits or runs', async () => {
  const gate = new FrameGate();
  const tool = deferred();
  const running = gate.exclusive(() => tool.promise);
  assert.equal(gate.paused, true);
  let frames = 0;
  assert.equal(await gate.frame(() => { frames += 1; }), false);
  tool.resolve('done');
  assert.equal(await running, 'done');
  assert.equal(gate.paused, false);
  assert.equal(await gate.frame(() => { frames += 1; }), true);
  assert.equal(frames, 1);
});

test('frame gate: a tool waits for the frame in flight, and tools run one at a time', async () => {
  const gate = new FrameGate();
  const order = [];
  const frame = deferred();
  const framed = gate.frame(async () => { await frame.promise; order.push('frame'); });
  const second = deferred();
  const first = gate.exclusive(async () => { order.push('tool 1 start'); await second.promise; order.push('tool 1 end'); });
  const next = gate.exclusive(() => { order.push('tool 2'); });
  assert.equal(await gate.frame(() => order.push('dropped')), false);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, []); // nothing starts before the frame in flight ends
  frame.resolve();
  await framed;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, ['frame', 'tool 1 start']);
  second.resolve();
  await Promise.all([first, next]);
  assert.deepEqual(order, ['frame', 'tool 1 start', 'tool 1 end', 'tool 2']);
});

test('frame gate: a failing tool releases the gate', async () => {
  const gate = new FrameGate();
  await assert.rejects(gate.exclusive(() => { throw new Error('boom'); }), /boom/);
  assert.equal(gate.paused, false);
  assert.equal(await gate.exclusive(() => 7), 7);
});
