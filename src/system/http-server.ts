// A small static HTTP server: what a PXE server's web server does for
// vauban's artifacts (GET and HEAD, Content-Length, single byte ranges as
// curl and iPXE ask them, symlinks followed), for `vauban boot` and
// `vauban serve`. Every request is recorded.
import { createReadStream, statSync } from 'node:fs';
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

export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const { host = '127.0.0.1', port = 0, onRequest } = options;
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const record = (what: string, status: number) => {
      const line = `${request.method} ${what} ${status}`;
      requests.push(line);
      onRequest?.(line);
    };
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      // A malformed request (`/%`) gets an answer; it never takes the server down.
      record(request.url ?? '', 400);
      response.writeHead(400).end();
      return;
    }
    const file = path.join(root, path.normalize(urlPath));
    if (!file.startsWith(`${root}${path.sep}`) || (request.method !== 'GET' && request.method !== 'HEAD')) {
      record(urlPath, 403);
      response.writeHead(403).end();
      return;
    }
    let size: number;
    let modified: Date;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
      modified = stat.mtime;
    } catch {
      record(urlPath, 404);
      response.writeHead(404).end();
      return;
    }
    const headers = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'Last-Modified': modified.toUTCString() };
    const range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      record(`${urlPath} (${request.headers.range ?? ''})`, 416);
      response.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    if (range === undefined) {
      record(urlPath, 200);
      response.writeHead(200, { ...headers, 'Content-Length': size });
      if (request.method === 'HEAD') response.end();
      else createReadStream(file).pipe(response);
      return;
    }
    record(`${urlPath} (bytes ${range.start}-${range.end})`, 206);
    response.writeHead(206, { ...headers, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${size}` });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file, { start: range.start, end: range.end }).pipe(response);
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
