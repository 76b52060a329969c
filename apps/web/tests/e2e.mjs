// End-to-end check of the web app in a real headless Chromium (driven by tests/test_web_app.py).
//
//   node tests/e2e.mjs --model-dir DIR --image IMG.png --out RESULT.json [--chromium /usr/bin/chromium]
//
// Starts server.mjs on a free port with DIR as /model/, opens the page on the wasm backend,
// runs the self-test, stylizes IMG through the file picker, runs a short benchmark and saves the
// downloaded JSON, reads the photo label's style enabled and disabled, then starts Chromium's fake
// camera and runs the self-test while it streams. Writes everything the Python test asserts on
// into RESULT.json.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from '../server.mjs';

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', // a generated test-pattern camera
];

// Style of the photo label with its input enabled and disabled.
async function labelStyles(page) {
  return page.evaluate(() => {
    const input = document.getElementById('file-input');
    const label = input.closest('label');
    const read = () => ({ opacity: getComputedStyle(label).opacity, cursor: getComputedStyle(label).cursor });
    const enabled = read();
    input.disabled = true;
    const disabled = read();
    input.disabled = false;
    return { enabled, disabled };
  });
}

const runs = (page) => page.evaluate(() => Number(document.getElementById('output-canvas').dataset.runs));

// Self-test while the camera streams: it must pass (frames pause), and frames must resume after.
async function selfTestDuringCamera(page) {
  await page.click('#camera-btn');
  const before = await runs(page);
  await page.waitForFunction((n) => Number(document.getElementById('output-canvas').dataset.runs) > n, before);
  await page.evaluate(() => { document.getElementById('selftest-result').dataset.state = 'idle'; });
  await page.click('#selftest-btn');
  await page.waitForSelector('#selftest-result:is([data-state="pass"], [data-state="fail"], [data-state="error"])');
  const report = JSON.parse((await page.getAttribute('#selftest-result', 'data-report')) ?? 'null');
  const after = await runs(page);
  await page.waitForFunction((n) => Number(document.getElementById('output-canvas').dataset.runs) > n, after);
  await page.click('#camera-btn');
  return { report, cameraButton: await page.textContent('#camera-btn') };
}

function parseArgs(argv) {
  const options = { chromium: '/usr/bin/chromium', timeout: 120000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    options[key] = argv[i + 1];
  }
  for (const key of ['modelDir', 'image', 'out']) {
    if (!options[key]) throw new Error(`missing --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const server = createServer({ modelDir: path.resolve(options.modelDir) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: options.chromium, headless: true, args: CHROMIUM_FLAGS });
  const pageErrors = [];
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(Number(options.timeout));
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()); });

    await page.goto(`${base}?ep=wasm&threads=1`);
    await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]');
    const status = await page.textContent('#status');
    if ((await page.getAttribute('#status', 'data-state')) !== 'ready') throw new Error(`page did not load: ${status}`);

    await page.click('#selftest-btn');
    await page.waitForSelector('#selftest-result:is([data-state="pass"], [data-state="fail"], [data-state="error"])');
    const selftest = JSON.parse((await page.getAttribute('#selftest-result', 'data-report')) ?? 'null');

    await page.setInputFiles('#file-input', options.image);
    await page.waitForSelector('#output-canvas:not([data-runs="0"])');
    const output = await page.evaluate(() => {
      const canvas = document.getElementById('output-canvas');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
    });
    const latencyText = await page.textContent('#latency');

    await page.fill('#bench-runs', '5');
    await page.fill('#bench-warmup', '2');
    await page.click('#bench-btn');
    await page.waitForSelector('#bench-result:is([data-state="done"], [data-state="error"])');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bench-download')]);
    const benchPath = path.join(path.dirname(path.resolve(options.out)), download.suggestedFilename());
    await download.saveAs(benchPath);

    const label = await labelStyles(page);
    const camera = await selfTestDuringCamera(page);

    const result = {
      status, selftest, output, latencyText, benchPath, label, camera,
      benchText: await page.textContent('#bench-result'),
      crossOriginIsolated: await page.evaluate(() => self.crossOriginIsolated),
      pageErrors,
    };
    await fs.writeFile(options.out, JSON.stringify(result));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((err) => {
  console.error(`e2e: error: ${err.message}`);
  process.exit(1);
});
