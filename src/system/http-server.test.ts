import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStaticServer, type StaticServer } from './http-server.js';

let root: string;
let server: StaticServer;
beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'vauban-http-'));
  writeFileSync(path.join(root, 'rootfs.tgz'), 'tar');
  server = await startStaticServer(root);
});
afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw GET: the path is sent as is, never normalised by a client library. */
function get(rawPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method: 'GET' }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the boot HTTP server (issue 13, item 13)', () => {
  it('answers 400 to a malformed path (/%) and keeps serving', async () => {
    expect(await get('/%')).toBe(400);
    expect(await get('/a%zz')).toBe(400);
    expect(await get('/rootfs.tgz')).toBe(200);
  });

  it('never serves outside its folder', async () => {
    expect(await get('/../../etc/passwd')).not.toBe(200);
    expect(await get('/%2e%2e/%2e%2e/etc/passwd')).not.toBe(200);
    expect(await get('/nothing')).toBe(404);
  });
});
