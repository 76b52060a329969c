// ONNX Runtime Web session around the exported generator, plus pixel <-> tensor conversion.
// Buffers are allocated once per model and reused for every frame.
import * as ort from 'onnxruntime-web';

// onnxruntime-web's .wasm files are served from our own node_modules (no CDN).
ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url).href;

async function webgpuAvailable() {
  if (!('gpu' in navigator)) return false;
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

// ep: 'auto' (WebGPU when the browser has an adapter, else wasm), 'webgpu' or 'wasm'.
export async function chooseBackend(ep = 'auto') {
  if (ep === 'wasm') return 'wasm';
  if (ep === 'webgpu' || (ep === 'auto' && (await webgpuAvailable()))) return 'webgpu';
  return 'wasm';
}

export function configureThreads(requested) {
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (server.mjs sends the headers).
  const max = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const threads = Math.max(1, Math.min(requested || max, max));
  ort.env.wasm.numThreads = threads;
  return threads;
}

export class StyleRunner {
  static async create(model, { backend, threads }) {
    const url = new URL(model.file, model.baseUrl).href;
    const session = await ort.InferenceSession.create(url, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
    });
    return new StyleRunner(model, session, backend, threads);
  }

  constructor(model, session, backend, threads) {
    this.model = model;
    this.session = session;
    this.backend = backend;
    this.threads = backend === 'wasm' ? threads : 1;
    this.inputName = session.inputNames.includes(model.input.name) ? model.input.name : session.inputNames[0];
    this.outputName = session.outputNames.includes(model.output.name) ? model.output.name : session.outputNames[0];
    const { height, width } = model;
    this.plane = height * width;
    this.inputData = new Float32Array(3 * this.plane);
    this.inputTensor = new ort.Tensor('float32', this.inputData, model.input.shape);
    this.outputImage = new ImageData(width, height);
    this.ortVersion = ort.env.versions?.web ?? null;
  }

  get runtime() {
    return `onnxruntime-web-${this.backend}`;
  }

  // RGBA bytes (ImageData.data of width x height) -> NCHW float in the model's input range.
  fillInput(rgba) {
    const [lo, hi] = this.model.input.range;
    const scale = (hi - lo) / 255;
    const { plane, inputData } = this;
    for (let i = 0, p = 0; i < plane; i += 1, p += 4) {
      inputData[i] = lo + rgba[p] * scale;
      inputData[plane + i] = lo + rgba[p + 1] * scale;
      inputData[2 * plane + i] = lo + rgba[p + 2] * scale;
    }
  }

  // Run on the current input buffer; returns {data: Float32Array NCHW, ms}.
  async runTensor(tensor = this.inputTensor) {
    const start = performance.now();
    const results = await this.session.run({ [this.inputName]: tensor });
    const output = results[this.outputName];
    const data = output.location === 'cpu' ? output.data : await output.getData();
    return { data, ms: performance.now() - start };
  }

  // NCHW float in the model's output range -> RGBA ImageData (reused).
  toImageData(data) {
    const [lo, hi] = this.model.output.range;
    const scale = 255 / (hi - lo);
    const { plane } = this;
    const rgba = this.outputImage.data;
    for (let i = 0, p = 0; i < plane; i += 1, p += 4) {
      rgba[p] = (data[i] - lo) * scale; // Uint8ClampedArray rounds and clamps
      rgba[p + 1] = (data[plane + i] - lo) * scale;
      rgba[p + 2] = (data[2 * plane + i] - lo) * scale;
      rgba[p + 3] = 255;
    }
    return this.outputImage;
  }

  makeTensor(data) {
    return new ort.Tensor('float32', data, this.model.input.shape);
  }
}
