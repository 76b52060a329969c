// Unit tests of the browser-independent helpers: `node --test tests/unit.test.mjs`.
import assert from 'node:assert/strict';
import test from 'node:test';
import { parseModelCard, pickArtifact, ModelCardError } from '../src/model-card.js';
import { LatencyWindow, psnr, quantile } from '../src/stats.js';

const io = (name) => ({ name, shape: [1, 3, 8, 16], layout: 'NCHW', dtype: 'float32', range: [0, 1] });
const card = (artifacts) => ({ schema_version: 1, name: 'm', size: [8, 16], artifacts, selftest: null });
const onnx = (precision) => ({ target: 'onnx', file: `m_${precision}.onnx`, precision, input: io('image'), output: io('stylized') });

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

test('model card: picks the requested precision, else fp32', () => {
  const c = card([{ target: 'executorch', file: 'x.pte', precision: 'fp32' }, onnx('int8'), onnx('fp32')]);
  assert.equal(pickArtifact(c, 'int8').file, 'm_int8.onnx');
  assert.equal(pickArtifact(c, undefined).file, 'm_fp32.onnx');
  const parsed = parseModelCard(c);
  assert.deepEqual([parsed.height, parsed.width, parsed.file], [8, 16, 'm_fp32.onnx']);
});

test('model card: clear errors for what the web app cannot run', () => {
  assert.throws(() => parseModelCard(card([{ target: 'coreml', file: 'm.mlpackage' }])), ModelCardError);
  assert.throws(() => parseModelCard({ ...card([onnx('fp32')]), schema_version: 2 }), /schema_version/);
  const nhwc = onnx('fp32');
  nhwc.input = { ...nhwc.input, layout: 'NHWC' };
  assert.throws(() => parseModelCard(card([nhwc])), /NCHW/);
});
