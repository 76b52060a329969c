// Page wiring: model.json -> ONNX Runtime Web session; photo or camera in, stylized image out.
// URL parameters: ?model=<folder with model.json> (default ./model/), ?ep=auto|wasm|webgpu,
// ?threads=N, ?precision=<one listed for an ONNX artifact in model.json; exports have fp32 only>.
import { Camera } from './camera.js';
import { runBenchmark } from './bench.js';
import { FrameGate } from './frame-gate.js';
import { loadModelCard } from './model-card.js';
import { chooseBackend, configureThreads, StyleRunner } from './runner.js';
import { runSelfTest } from './selftest.js';
import { LatencyWindow } from './stats.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const latency = new LatencyWindow(30);
const camera = new Camera($('camera'));
const inputCanvas = $('input-canvas');
const outputCanvas = $('output-canvas');
const gate = new FrameGate(); // camera frames pause while a photo, the self-test or the benchmark runs
let runner = null;

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function fail(err) {
  console.error(err);
  setStatus('error', `error: ${err.message ?? err}`);
}

// Draw `source` (image, bitmap or video) centre-cropped to the model's aspect at model size.
function drawInput(source, sourceWidth, sourceHeight) {
  const { width, height } = runner.model;
  const scale = Math.min(sourceWidth / width, sourceHeight / height);
  const sw = width * scale;
  const sh = height * scale;
  const ctx = inputCanvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, (sourceWidth - sw) / 2, (sourceHeight - sh) / 2, sw, sh, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data;
}

// Callers go through `gate`: frames with gate.frame, everything else with gate.exclusive.
async function stylize(source, sourceWidth, sourceHeight) {
  runner.fillInput(drawInput(source, sourceWidth, sourceHeight));
  const { data, ms } = await runner.runTensor();
  outputCanvas.getContext('2d').putImageData(runner.toImageData(data), 0, 0);
  latency.push(ms);
  $('latency').textContent = `${latency.median().toFixed(1)} ms median of last ${latency.count} (${runner.runtime}, ${runner.threads} thread${runner.threads > 1 ? 's' : ''})`;
  outputCanvas.dataset.runs = String(Number(outputCanvas.dataset.runs ?? 0) + 1);
}

async function onFile(file) {
  if (!file) return;
  stopCamera();
  const bitmap = await createImageBitmap(file);
  try {
    await gate.exclusive(() => stylize(bitmap, bitmap.width, bitmap.height));
  } finally {
    bitmap.close();
  }
}

function stopCamera() {
  camera.stop();
  $('camera-btn').textContent = 'Start camera';
}

async function toggleCamera() {
  if (camera.active) {
    stopCamera();
    return;
  }
  await camera.start();
  $('camera-btn').textContent = 'Stop camera';
  const video = $('camera');
  const loop = async () => {
    if (!camera.active) return;
    if (video.videoWidth > 0) {
      await gate.frame(() => stylize(video, video.videoWidth, video.videoHeight)).catch(fail);
    }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

function offerDownload(result) {
  const text = JSON.stringify(result, null, 2);
  $('bench-json').textContent = text;
  const link = $('bench-download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const stamp = result.created.replace(/[:.]/g, '-');
  link.download = `bench-${result.rows[0].model}-${result.rows[0].runtime}-${stamp}.json`;
  link.hidden = false;
}

async function benchmark() {
  const runs = Number($('bench-runs').value);
  const warmup = Number($('bench-warmup').value);
  $('bench-result').dataset.state = 'running';
  const result = await gate.exclusive(() => runBenchmark(runner, {
    runs,
    warmup,
    onProgress: (text) => { $('bench-result').textContent = text; },
  }));
  const row = result.rows[0];
  $('bench-result').textContent = `median ${row.median_ms} ms, p10 ${row.p10_ms} ms, p90 ${row.p90_ms} ms over ${row.runs} runs`;
  $('bench-result').dataset.state = 'done';
  offerDownload(result);
  return result;
}

async function selfTest() {
  $('selftest-result').dataset.state = 'running';
  $('selftest-result').textContent = 'running…';
  const report = await gate.exclusive(() => runSelfTest(runner));
  const lines = report.cases.map((c) => `${c.input}: ${c.psnr_db.toFixed(1)} dB ${c.pass ? 'pass' : 'FAIL'}`);
  $('selftest-result').textContent = `${report.pass ? 'PASS' : 'FAIL'} (>= ${report.threshold_db} dB, ${report.precision}) — ${lines.join('; ')}`;
  $('selftest-result').dataset.state = report.pass ? 'pass' : 'fail';
  $('selftest-result').dataset.report = JSON.stringify(report);
  return report;
}

function guarded(fn) {
  return () => fn().catch((err) => {
    fail(err);
    for (const id of ['selftest-result', 'bench-result']) {
      if ($(id).dataset.state === 'running') $(id).dataset.state = 'error';
    }
  });
}

async function init() {
  const modelUrl = new URL(params.get('model') ?? 'model/', document.baseURI);
  setStatus('loading', `loading ${modelUrl.pathname}model.json…`);
  const model = await loadModelCard(modelUrl, { precision: params.get('precision') ?? undefined });
  const backend = await chooseBackend(params.get('ep') ?? 'auto');
  const threads = configureThreads(Number(params.get('threads')) || 0);
  runner = await StyleRunner.create(model, { backend, threads });
  for (const canvas of [inputCanvas, outputCanvas]) {
    canvas.width = model.width;
    canvas.height = model.height;
  }
  $('model-info').textContent = `${model.name} · ${model.file} · ${model.precision} · ${model.width}×${model.height} · ${runner.runtime}`;
  for (const id of ['file-input', 'camera-btn', 'bench-btn', 'selftest-btn']) $(id).disabled = false;
  setStatus('ready', 'ready: pick a photo or start the camera');
}

$('file-input').addEventListener('change', (e) => guarded(() => onFile(e.target.files[0]))());
$('camera-btn').addEventListener('click', guarded(toggleCamera));
$('bench-btn').addEventListener('click', guarded(benchmark));
$('selftest-btn').addEventListener('click', guarded(selfTest));

// For scripts and tests: the same actions the buttons trigger.
window.mobilegan = { ready: init().catch(fail), selfTest, benchmark, latency, gate };
