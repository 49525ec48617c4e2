/**
 * The local API on a real Unix socket (and loopback TCP with a bearer token): status,
 * Server-Sent Events with Last-Event-ID resume, JSON errors, and the socket file rules
 * (a stale one is replaced, a live one refused).
 */
import t from 'tap';
import { mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type IncomingMessage } from 'node:http';
import { LocalApiService } from '../../runtime/api/server.js';
import { onFreshPort } from '../helpers/ports.js';
import { EventBus } from '../../runtime/api/events.js';
import { createLogger } from '../../runtime/log.js';

const silent = createLogger({ level: 'silent' });

function apiConfig(dir: string, tcpPort = 0, bearerToken = '') {
  return { data: { dir }, api: { socket: 'codposd.sock', tcpPort, bearerToken } };
}

function get(
  target: { socketPath: string } | { port: number },
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, ...('port' in target ? { host: '127.0.0.1' } : {}), path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, res }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('GET /v1/status: the daemon and every service health, on a 0660 socket in the data directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-api-'));
  const api = new LocalApiService(apiConfig(dir), silent, {
    events: new EventBus(),
    version: '9.9.9',
    health: () => ({ spool: { state: 'up' }, devices: { state: 'degraded', reason: 'printer offline' } }),
  });
  await api.start();
  t.teardown(() => api.stop());
  t.equal(statSync(api.socketPath).mode & 0o777, 0o660);
  const { status, body } = await get({ socketPath: api.socketPath }, '/v1/status');
  t.equal(status, 200);
  t.match(JSON.parse(body), {
    daemon: { pid: process.pid, version: '9.9.9' },
    services: { spool: { state: 'up' }, devices: { state: 'degraded', reason: 'printer offline' } },
  });
  const missing = await get({ socketPath: api.socketPath }, '/v1/nothing');
  t.equal(missing.status, 404);
  t.match(JSON.parse(missing.body), {
    error: { code: 'CODPOS_USAGE_NOT_FOUND', message: /there are \/v1\/status, \/v1\/events/ },
  });
});

t.test(
  'GET /v1/events: published events as SSE, in order; a reconnect with Last-Event-ID gets what it missed',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-api-'));
    const events = new EventBus();
    const api = new LocalApiService(apiConfig(dir), silent, { events, version: '1', health: () => ({}) });
    await api.start();
    t.teardown(() => api.stop());
    events.publish('device.state', { device: 'printer', state: 'offline' });
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { socketPath: api.socketPath, path: '/v1/events', headers: { 'Last-Event-ID': '0' } },
        (res) => {
          t.equal(res.headers['content-type'], 'text/event-stream');
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            received.push(chunk);
            const text = received.join('');
            if (text.includes('event: device.state') && !text.includes('id: 2'))
              events.publish('card.inserted', { chip: true });
            if (text.includes('id: 2')) {
              req.destroy();
              resolve();
            }
          });
        },
      );
      req.on('error', (error) => (received.join('').includes('id: 2') ? resolve() : reject(error)));
      req.end();
    });
    const text = received.join('');
    t.match(
      text,
      /id: 1\nevent: device\.state\ndata: \{"at":"[^"]+","device":"printer","state":"offline"\}\n\n/,
      'the missed event, resumed from Last-Event-ID 0',
    );
    t.match(text, /id: 2\nevent: card\.inserted\ndata: \{"at":"[^"]+","chip":true\}\n\n/, 'then the live one');
  },
);

t.test('over TCP every request needs the bearer token; a TCP port without a token does not start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-api-'));
  const { port, started: api } = await onFreshPort(async (port) => {
    const api = new LocalApiService(apiConfig(dir, port, 's3cret-token'), silent, {
      events: new EventBus(),
      version: '1',
      health: () => ({}),
    });
    await api.start();
    return api;
  });
  t.teardown(() => api.stop());
  t.equal((await get({ port }, '/v1/status')).status, 401);
  t.equal((await get({ port }, '/v1/status', { Authorization: 'Bearer wrong-token!' })).status, 401);
  t.equal((await get({ port }, '/v1/status', { Authorization: 'Bearer s3cret-token' })).status, 200);
  t.equal(
    (await get({ socketPath: api.socketPath }, '/v1/status')).status,
    200,
    'the socket needs none (its file mode guards it)',
  );
  const open = new LocalApiService(apiConfig(mkdtempSync(join(tmpdir(), 'codpos-api-')), port + 1, ''), silent, {
    events: new EventBus(),
    version: '1',
    health: () => ({}),
  });
  await t.rejects(open.start(), { code: 'CODPOS_CONFIG_INVALID', message: /api\.bearerToken/ });
});

t.test('a stale socket file is replaced; a socket a running daemon answers on is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-api-'));
  writeFileSync(join(dir, 'codposd.sock'), ''); // left by a daemon that died (no one answers)
  const first = new LocalApiService(apiConfig(dir), silent, {
    events: new EventBus(),
    version: '1',
    health: () => ({}),
  });
  await first.start();
  t.teardown(() => first.stop());
  t.equal((await get({ socketPath: first.socketPath }, '/v1/status')).status, 200);
  const second = new LocalApiService(apiConfig(dir), silent, {
    events: new EventBus(),
    version: '1',
    health: () => ({}),
  });
  await t.rejects(second.start(), { code: 'CODPOS_DAEMON_API_IN_USE' });
  t.equal((await get({ socketPath: first.socketPath }, '/v1/status')).status, 200, 'the running one is untouched');
  await first.stop();
  t.notOk(existsSync(first.socketPath), 'stop removes the socket');
});

function post(
  socketPath: string,
  path: string,
  body: string,
): Promise<{ status: number; json: { error?: { code?: string; message?: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: 'POST', path, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(text) as { error?: { code?: string; message?: string } },
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test(
  'a body over 64 KiB is answered 413 (not a reset connection); a body that is JSON but not an object is a 400 (not a 500)',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-api-'));
    const api = new LocalApiService(apiConfig(dir), silent, {
      events: new EventBus(),
      version: '9.9.9',
      health: () => ({}),
    });
    await api.start();
    t.teardown(() => api.stop());
    const huge = JSON.stringify({ kind: 'pickup', waybill: 'RR123456785CH', note: 'x'.repeat(200_000) });
    const tooLarge = await post(api.socketPath, '/v1/waybills/events', huge);
    t.equal(tooLarge.status, 413);
    t.match(tooLarge.json, {
      error: {
        code: 'CODPOS_USAGE_BODY_TOO_LARGE',
        message: `the request body is ${huge.length} bytes; the local API reads at most 65536 (64 KiB)`,
      },
    });
    // Multi-byte characters count as bytes: 40,000 two-byte characters are 80,000 bytes.
    t.equal(
      (await post(api.socketPath, '/v1/waybills/events', JSON.stringify({ note: 'é'.repeat(40_000) }))).status,
      413,
    );
    t.equal((await get({ socketPath: api.socketPath }, '/v1/status')).status, 200, 'the server still answers');
    for (const [text, what] of [
      ['null', 'null'],
      ['[1]', 'an array'],
      ['42', 'a number'],
      ['"text"', 'a string'],
    ] as const) {
      // A route without a body schema (the schema of one that has it refuses these with its own code).
      const answer = await post(api.socketPath, '/v1/payments/cancel', text);
      t.equal(answer.status, 400, `${text}: 400`);
      t.match(
        answer.json,
        { error: { code: 'CODPOS_USAGE_BAD_JSON', message: `the request body must be a JSON object, not ${what}` } },
        text,
      );
    }
    t.match(await post(api.socketPath, '/v1/waybills/events', '{"kind":'), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_BAD_JSON', message: 'the request body is not JSON' } },
    });
  },
);
