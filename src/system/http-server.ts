// A small static HTTP server on loopback: what a PXE server's web server does
// for vauban's artifacts (GET and HEAD, Content-Length, symlinks followed),
// for `vauban boot`. Every request is recorded.
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

export async function startStaticServer(root: string, host = '127.0.0.1'): Promise<StaticServer> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      // A malformed request (`/%`) gets an answer; it never takes the server down.
      requests.push(`${request.method} ${request.url ?? ''} 400`);
      response.writeHead(400).end();
      return;
    }
    const file = path.join(root, path.normalize(urlPath));
    const record = (status: number) => requests.push(`${request.method} ${urlPath} ${status}`);
    if (!file.startsWith(`${root}${path.sep}`) || (request.method !== 'GET' && request.method !== 'HEAD')) {
      record(403);
      response.writeHead(403).end();
      return;
    }
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
    } catch {
      record(404);
      response.writeHead(404).end();
      return;
    }
    record(200);
    response.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
