// Read model.json (docs/model-json.md, schema_version 2) and pick the artifact this app runs.
// Everything about the model — file, tensor names, shape, layout, pixel range, self-test
// vectors and thresholds — comes from here; nothing is hard-coded in the app.

export const SCHEMA_VERSION = 2;
export const TARGET = 'onnx';

export class ModelCardError extends Error {}

function need(condition, message) {
  if (!condition) throw new ModelCardError(message);
}

function checkTensorSpec(spec, what) {
  need(spec && typeof spec === 'object', `model.json: artifact ${what} spec missing`);
  need(typeof spec.name === 'string', `model.json: ${what}.name missing`);
  need(Array.isArray(spec.shape) && spec.shape.length === 4, `model.json: ${what}.shape must be [N, C, H, W]`);
  need(spec.layout === 'NCHW', `model.json: ${what}.layout ${spec.layout} is not NCHW (the web app needs NCHW)`);
  need(spec.dtype === 'float32', `model.json: ${what}.dtype ${spec.dtype} is not float32`);
  need(Array.isArray(spec.range) && spec.range.length === 2 && spec.range[1] > spec.range[0],
    `model.json: ${what}.range must be [lo, hi]`);
  return spec;
}

// Pick the ONNX artifact: the requested precision (an error when not listed), else fp32, else the first.
export function pickArtifact(card, precision) {
  const onnx = (card.artifacts ?? []).filter((a) => a.target === TARGET);
  need(onnx.length > 0, `model.json lists no "${TARGET}" artifact: export with --target onnx --app web`);
  if (precision !== undefined) {
    const wanted = onnx.find((a) => a.precision === precision);
    need(wanted !== undefined,
      `model.json lists no ${precision} ONNX model (listed: ${onnx.map((a) => a.precision).join(', ')})`);
    return wanted;
  }
  return onnx.find((a) => a.precision === 'fp32') ?? onnx[0];
}

export function parseModelCard(card, { precision } = {}) {
  need(card && typeof card === 'object', 'model.json is not a JSON object');
  need(card.schema_version === SCHEMA_VERSION,
    `model.json schema_version ${card.schema_version} is not ${SCHEMA_VERSION}; update the app or re-export`);
  const artifact = pickArtifact(card, precision);
  const input = checkTensorSpec(artifact.input, 'input');
  const output = checkTensorSpec(artifact.output, 'output');
  const [, channels, height, width] = input.shape;
  need(channels === 3, `model.json: input has ${channels} channels, the app feeds RGB`);
  const threshold = artifact.selftest_min_psnr_db;
  need(typeof threshold === 'number' && threshold > 0,
    `model.json: ${artifact.file} has no selftest_min_psnr_db; re-export with this mobilegan`);
  return {
    name: card.name,
    size: card.size ?? [height, width],
    file: artifact.file,
    precision: artifact.precision,
    input,
    output,
    height,
    width,
    selftestMinPsnrDb: threshold,
    selftest: card.selftest ?? null,
  };
}

export async function loadModelCard(baseUrl, options = {}) {
  const url = new URL('model.json', baseUrl);
  const response = await fetch(url);
  need(response.ok, `no model installed: ${url} answered ${response.status} (run mobilegan export --target onnx --app web)`);
  let card;
  try {
    card = await response.json();
  } catch (err) {
    throw new ModelCardError(`model.json is not valid JSON: ${err.message}`);
  }
  return { ...parseModelCard(card, options), baseUrl: new URL('.', url).href };
}
