import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeControl, parseRange, startStaticServer, type StaticServer } from './http-server.js';

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

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: the path is sent as is, never normalised by a client library. */
function request(rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

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

describe('byte ranges (issue 14: vauban serve)', () => {
  const content = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251));
  beforeEach(() => writeFileSync(path.join(root, 'big'), content));

  it('answers a single range with 206, Content-Range and the exact bytes', async () => {
    const answer = await request('/big', { Range: 'bytes=10-19' });
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe('bytes 10-19/1000');
    expect(answer.headers['content-length']).toBe('10');
    expect(answer.body).toEqual(content.subarray(10, 20));
    const tail = await request('/big', { Range: 'bytes=-100' });
    expect(tail.body).toEqual(content.subarray(900));
    const open = await request('/big', { Range: 'bytes=995-' });
    expect(open.headers['content-range']).toBe('bytes 995-999/1000');
    expect(open.body).toEqual(content.subarray(995));
    // Past the end is cut at the end.
    expect((await request('/big', { Range: 'bytes=990-5000' })).body).toEqual(content.subarray(990));
  });

  it('a whole file says its length and that ranges are served; HEAD sends no body', async () => {
    const whole = await request('/big');
    expect(whole.status).toBe(200);
    expect(whole.headers['content-length']).toBe('1000');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body).toEqual(content);
    const head = await request('/big', {}, 'HEAD');
    expect(head.headers['content-length']).toBe('1000');
    expect(head.body.length).toBe(0);
  });

  it('416 past the end; several ranges get the whole file', async () => {
    const past = await request('/big', { Range: 'bytes=1000-' });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */1000');
    expect((await request('/big', { Range: 'bytes=0-1,5-6' })).status).toBe(200);
    expect(parseRange('bytes=5-2', 10)).toBeUndefined();
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('items=1-2', 10)).toBeUndefined();
  });

  it('follows the links of a release layout', async () => {
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(path.join(root, 'm', 'releases', 'r1'), { recursive: true });
    writeFileSync(path.join(root, 'm', 'releases', 'r1', 'rootfs.tgz'), 'release one');
    symlinkSync('releases/r1', path.join(root, 'm', 'current'));
    symlinkSync('current/rootfs.tgz', path.join(root, 'm', 'rootfs.tgz'));
    const answer = await request('/m/rootfs.tgz', { Range: 'bytes=8-' });
    expect(answer.body.toString()).toBe('one');
    expect(server.requests.at(-1)).toBe('GET /m/rootfs.tgz (bytes 8-10) 206');
  });
});

describe('only regular files inside the folder; requests recorded escaped (issue 30)', () => {
  it('refuses links out of the folder and hidden names (vauban\'s temporaries), serves links inside', async () => {
    const { mkdirSync, symlinkSync } = await import('node:fs');
    symlinkSync('/etc/hostname', path.join(root, 'out'));
    symlinkSync('rootfs.tgz', path.join(root, 'in'));
    mkdirSync(path.join(root, 'm', 'releases', '.partial-r2'), { recursive: true });
    writeFileSync(path.join(root, 'm', 'releases', '.partial-r2', 'rootfs.tgz'), 'half');
    writeFileSync(path.join(root, '.rootfs.tgz.vauban-abc'), 'temporary');
    expect(await get('/out')).toBe(403);
    expect(server.requests.at(-1)).toBe('GET /out (outside the folder) 403');
    expect(await get('/m/releases/.partial-r2/rootfs.tgz')).toBe(404);
    expect(await get('/.rootfs.tgz.vauban-abc')).toBe(404);
    expect(await get('/m')).toBe(404);
    expect((await request('/in')).body.toString()).toBe('tar');
  });

  it('prints control characters of a request path as \\xHH', async () => {
    expect(await get('/%1b%5b2J%0d%0aGET%20/fake%20200')).toBe(404);
    expect(server.requests.at(-1)).toBe('GET /\\x1b[2J\\x0d\\x0aGET /fake 200 404');
    expect(escapeControl('a\\b\u009b')).toBe('a\\\\b\\x9b');
  });
});
