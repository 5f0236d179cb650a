// A tiny static file server for the browser example (node:http only): a few folders mounted
// at URL prefixes, files of known types only, nothing outside the mounted folders.

import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/** the types served; any other extension is a 404, so sources (.ts) and dotfiles stay private */
export const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Mount {
  /** URL path prefix, starting and ending with "/" */
  prefix: string;
  /** the folder served under it */
  dir: string;
}

export type Resolved = { status: 200; file: string; type: string } | { status: 400 | 403 | 404; reason: string };

/** the file a request path names, or why there is none; mounts are tried longest prefix first */
export function resolveRequest(mounts: readonly Mount[], rawUrl: string): Resolved {
  const path = rawUrl.split(/[?#]/)[0];
  if (!path.startsWith('/')) return { status: 400, reason: 'not an absolute path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { status: 400, reason: 'bad percent-encoding' };
  }
  // refused before any file system call: parent segments (also when percent-encoded, or
  // with backslashes), dot-files and NUL
  const segments = decoded.split(/[/\\]/);
  if (decoded.includes('\0') || decoded.includes('\\') || segments.some((s) => s.startsWith('.'))) return { status: 403, reason: 'path traversal or hidden file' };
  if (decoded.endsWith('/')) decoded += 'index.html';
  const mount = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length).find((m) => decoded.startsWith(m.prefix));
  if (!mount) return { status: 404, reason: 'not under a served folder' };
  const type = MIME[extname(decoded)];
  if (!type) return { status: 404, reason: 'not a served file type' };
  const root = resolve(mount.dir);
  const file = resolve(root, decoded.slice(mount.prefix.length));
  if (!file.startsWith(root + sep)) return { status: 403, reason: 'outside the served folder' };
  try {
    // through symbolic links too
    const real = realpathSync(file);
    if (!real.startsWith(realpathSync(root) + sep)) return { status: 403, reason: 'outside the served folder' };
    if (!statSync(real).isFile()) return { status: 404, reason: 'not a file' };
    return { status: 200, file: real, type };
  } catch {
    return { status: 404, reason: 'no such file' };
  }
}

/**
 * the headers that make a page cross-origin isolated (self.crossOriginIsolated): browsers give
 * SharedArrayBuffer, so a shared WebAssembly.Memory and createWasmModel({ threads }), only to
 * such pages; every resource the page loads must then be same-origin or opt in (CORP / CORS)
 */
export const CROSS_ORIGIN_ISOLATION: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** a server for `mounts` (GET and HEAD only), sending `headers` with every file; not listening yet */
export function createStaticServer(mounts: readonly Mount[], headers: Readonly<Record<string, string>> = {}): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const r = resolveRequest(mounts, req.url ?? '/');
    if (r.status !== 200) {
      res.writeHead(r.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${r.status}: ${r.reason}\n`);
      return;
    }
    // no-cache: a rebuild shows on reload
    res.writeHead(200, { ...headers, 'Content-Type': r.type, 'Content-Length': statSync(r.file).size, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(r.file).pipe(res);
  });
}
