// Static server for the web app: `npm run dev [-- EXPORT_DIR] [--port 8080] [--host 127.0.0.1]`.
//
// Serves this folder, and `/model/` from EXPORT_DIR when one is given (default: ./model, where
// `mobilegan export --app web` installs the model). It sends the cross-origin isolation headers
// that multi-threaded WebAssembly needs (SharedArrayBuffer), and the right MIME types for
// .mjs/.wasm. No network access, no dependencies beyond Node itself.
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APP_ROOT = path.dirname(fileURLToPath(import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.data': 'application/octet-stream',
  '.f32': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

export function parseArgs(argv) {
  const options = { port: 8080, host: '127.0.0.1', modelDir: path.join(APP_ROOT, 'model') };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--port') options.port = Number(argv[++i]);
    else if (arg === '--host') options.host = argv[++i];
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else options.modelDir = path.resolve(arg);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be an integer between 0 and 65535');
  }
  return options;
}

// Map a URL path to a file, refusing anything that escapes its root folder.
function resolvePath(urlPath, modelDir) {
  const clean = decodeURIComponent(urlPath.split('?')[0]);
  const [root, rest] = clean.startsWith('/model/') ? [modelDir, clean.slice('/model/'.length)] : [APP_ROOT, clean];
  const file = path.resolve(root, `.${path.posix.normalize(`/${rest}`)}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

export function createServer({ modelDir }) {
  return http.createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    try {
      let file = resolvePath(req.url === '/' ? '/index.html' : req.url, modelDir);
      if (file && (await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html');
      const stat = file ? await fs.stat(file) : null;
      if (!stat || !stat.isFile()) throw new Error('not found');
      const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': stat.size });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`not found: ${req.url}\n`);
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`server: error: ${err.message}`);
    process.exit(2);
  }
  const server = createServer(options);
  server.on('error', (err) => {
    console.error(`server: error: ${err.message}`);
    process.exit(1);
  });
  server.listen(options.port, options.host, () => {
    const { port } = server.address();
    // The first stdout line is machine-readable: tests wait for it to learn the port.
    console.log(`serving http://${options.host}:${port}/ (model from ${options.modelDir})`);
  });
}
