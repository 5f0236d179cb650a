// Serves the browser example: the page (examples/browser/) and what it loads (the build
// folder: the generated module, the digits, a manifest).
//
//   npm run browser [-- --port 8080] [--host 127.0.0.1] [--no-isolation]
//
// `npm run browser` first builds examples/lenet.json and examples/resnet.json with
// `convgen build --emit js` (every target: gpu.js for WebGPU, wasm.js and index.js for the CPU) into
// .tmp/browser/generated; this script writes the digits and the manifest next to it, then
// serves both folders until stopped (Ctrl-C).

import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../mnist/args.ts';
import { writeDigitFiles, writeManifest } from './data.ts';
import { CROSS_ORIGIN_ISOLATION, createStaticServer } from './server.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const BUILD = join(repo, '.tmp', 'browser');
const MODELS = ['lenet.json', 'resnet.json'].map((f) => join(repo, 'examples', f));

const USAGE = `usage: npm run browser [-- --port N] [--host ADDRESS] [--no-isolation]
  --port N        port to listen on (default 8080; 0 picks a free one)
  --host ADDRESS  address to listen on (default 127.0.0.1: this machine only; WebGPU needs a
                  secure context, which plain http has only on localhost)
  --no-isolation  without the cross-origin isolation headers (COOP, COEP): the page's
                  WebAssembly backend then runs on 1 thread, and says why`;
const opts = parseArgs(process.argv.slice(2), { port: 8080, host: '127.0.0.1', noIsolation: false }, USAGE);

const manifest = writeManifest(BUILD, MODELS);
for (const file of manifest.models.flatMap((m) => [m.gpu, m.cpu, m.wasm]).map((f) => join(BUILD, f))) {
  if (!existsSync(file)) {
    process.stderr.write(`${relative(repo, file)} is missing: \`npm run browser\` builds it (node bin/convgen.js build examples/lenet.json examples/resnet.json --emit js --out .tmp/browser/generated)\n`);
    process.exit(1);
  }
}
const { bytes } = writeDigitFiles(BUILD);
console.log(`wrote ${relative(repo, join(BUILD, manifest.data))} (${(bytes / 1e6).toFixed(1)} MB of digits) and ${relative(repo, join(BUILD, 'manifest.json'))}`);

// cross-origin isolated, so that a page may use the WebAssembly target's threads (a shared memory)
const server = createStaticServer(
  [
    { prefix: '/build/', dir: BUILD },
    { prefix: '/', dir: here },
  ],
  opts.noIsolation ? {} : CROSS_ORIGIN_ISOLATION,
);
server.on('error', (err: NodeJS.ErrnoException) => {
  const why = err.code === 'EADDRINUSE' ? `port ${opts.port} is in use: pick another with --port N` : err.message;
  process.stderr.write(`cannot listen on ${opts.host}:${opts.port}: ${why}\n`);
  process.exit(1);
});
server.listen(opts.port, opts.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host === '127.0.0.1' || opts.host === '::1' || opts.host === 'localhost' ? 'localhost' : opts.host;
  console.log(`serving examples/browser/ and .tmp/browser/ at http://${host}:${port}/ (Ctrl-C stops)`);
  console.log(opts.noIsolation ? 'without the cross-origin isolation headers: WebAssembly trains on 1 thread' : 'cross-origin isolated (COOP same-origin, COEP require-corp): WebAssembly may use worker threads');
  console.log('open it in a browser with WebGPU: Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows');
  if (host !== 'localhost') console.log('note: browsers offer WebGPU to http pages on localhost only; from another machine, use an ssh tunnel (ssh -L) or https');
});
