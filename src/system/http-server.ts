// A small static HTTP server: what a PXE server's web server does for
// vauban's artifacts (GET and HEAD, Content-Length, single byte ranges as
// curl and iPXE ask them, symlinks followed inside the folder), for `vauban
// boot` and `vauban serve`. Every request is recorded, escaped.
import { constants, realpathSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  port: number;
  /** "GET /path 200" lines, in order. */
  requests: string[];
  close: () => Promise<void>;
}

export interface StaticServerOptions {
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Called with each request line as it is answered. */
  onRequest?: (line: string) => void;
}

/**
 * The byte range a `Range` header asks of a file of `size` bytes: `bytes=a-b`,
 * `bytes=a-` or `bytes=-n`. undefined: serve the whole file (no header, or a
 * form we do not serve, such as several ranges: allowed by RFC 9110);
 * 'unsatisfiable': 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [first, last] = [match[1] as string, match[2] as string];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - length, 0), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return undefined;
  return { start, end };
}

/** `text` with its control characters (a request path is anyone's) as \xHH: safe to print on a terminal. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (char) => (char === '\\' ? '\\\\' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

type Answer = { status: number; what?: string; headers?: Record<string, string | number>; file?: { handle: FileHandle; start?: number; end?: number } };

/**
 * What a request gets: only a regular file inside `root` (its links followed
 * inside only), never a hidden name (vauban's temporaries on a server:
 * `.partial-<release>`, `.<file>.vauban-<run>`). The file is opened first and
 * its open descriptor asked for its size: a file pruned meanwhile is a 404,
 * one the server may not read a 403, never an error that ends the server.
 */
async function answer(root: string, method: string | undefined, url: string | undefined, rangeHeader: string | undefined): Promise<Answer> {
  let urlPath: string;
  try {
    urlPath = decodeURIComponent(new URL(url ?? '/', 'http://localhost').pathname);
  } catch {
    // A malformed request (`/%`) gets an answer; it never takes the server down.
    return { status: 400, what: url ?? '' };
  }
  if (method !== 'GET' && method !== 'HEAD') return { status: 403, what: urlPath };
  const segments = urlPath.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..') || segments.includes('\0')) return { status: 403, what: urlPath };
  if (segments.some((segment) => segment.startsWith('.') || segment.includes('\0'))) return { status: 404, what: urlPath };
  let real: string;
  try {
    real = await realpath(path.join(root, ...segments));
  } catch {
    return { status: 404, what: urlPath };
  }
  if (!real.startsWith(`${root}${path.sep}`)) return { status: 403, what: `${urlPath} (outside the folder)` };
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { status: code === 'EACCES' || code === 'EPERM' ? 403 : 404, what: `${urlPath}${code === 'ENOENT' ? '' : ` (${code ?? 'cannot open'})`}` };
  }
  const stat = await handle.stat().catch(() => undefined);
  if (stat === undefined || !stat.isFile()) {
    await handle.close();
    return { status: 404, what: urlPath };
  }
  const headers = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'Last-Modified': stat.mtime.toUTCString() };
  const range = parseRange(rangeHeader, stat.size);
  if (range === 'unsatisfiable') {
    await handle.close();
    return { status: 416, what: `${urlPath} (${rangeHeader ?? ''})`, headers: { ...headers, 'Content-Range': `bytes */${stat.size}` } };
  }
  if (range === undefined) return { status: 200, what: urlPath, headers: { ...headers, 'Content-Length': stat.size }, file: { handle } };
  return {
    status: 206,
    what: `${urlPath} (bytes ${range.start}-${range.end})`,
    headers: { ...headers, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${stat.size}` },
    file: { handle, start: range.start, end: range.end },
  };
}

export async function startStaticServer(folder: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const { host = '127.0.0.1', port = 0, onRequest } = options;
  // Links inside the folder are followed (current -> releases/...): what they reach must be inside its real path.
  const root = realpathSync(folder);
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const record = (what: string, status: number) => {
      const line = `${escapeControl(request.method ?? '')} ${escapeControl(what)} ${status}`;
      requests.push(line);
      onRequest?.(line);
    };
    void answer(root, request.method, request.url, request.headers.range)
      .then(async (found) => {
        record(found.what ?? '', found.status);
        response.writeHead(found.status, found.headers);
        if (found.file === undefined) return void response.end();
        if (request.method === 'HEAD') {
          response.end();
          return void (await found.file.handle.close());
        }
        const stream = found.file.handle.createReadStream({ start: found.file.start, end: found.file.end });
        // A read that fails midway (an I/O error) cuts this answer only; the descriptor is closed with the stream.
        stream.once('error', () => response.destroy());
        stream.pipe(response);
      })
      .catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
        else response.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
