/**
 * The status page's token rule over loopback TCP (runtime/api/tcp-access.ts), the page on
 * the Unix socket, and GET /v1/status/summary's parts (runtime/api/status-summary.ts):
 * the last four digits of a card at most, a failing part named in `problems`.
 * What the page draws from them is tested in a browser: status-page-browser.test.ts.
 */
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../runtime/api/events.js';
import { LocalApiService } from '../../runtime/api/server.js';
import { lastFour, statusSummary } from '../../runtime/api/status-summary.js';
import { statusCookieValue } from '../../runtime/api/tcp-access.js';
import { createLogger } from '../../runtime/log.js';
import { call, follow, startDaemon } from './daemon-fixtures.js';
import { onFreshPort } from '../helpers/ports.js';

const TOKEN = 'status-page-test-token';

interface Answer {
  status: number;
  body: string;
  res: IncomingMessage;
}

function send(
  target: { socketPath: string } | { port: number },
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, ...('port' in target ? { host: '127.0.0.1' } : {}), method, path, headers },
      (res) => {
        if (res.headers['content-type'] === 'text/event-stream') {
          // A stream never ends by itself: its head is the answer.
          resolve({ status: res.statusCode ?? 0, body: '', res });
          req.destroy();
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, res }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function apiOnTcp(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-status-page-'));
  const { port, started: api } = await onFreshPort(async (port) => {
    const api = new LocalApiService(
      { data: { dir }, api: { socket: 'codposd.sock', tcpPort: port, bearerToken: TOKEN } },
      createLogger({ level: 'silent' }),
      {
        events: new EventBus(),
        version: '1.2.3',
        health: () => ({ host: { state: 'up' }, uplink: { state: 'degraded', reason: 'back-end unreachable' } }),
      },
    );
    await api.start();
    return api;
  });
  t.teardown(() => api.stop());
  return { port, socketPath: api.socketPath };
}

t.test(
  'over TCP: /status?token= with the right token sets an HttpOnly SameSite=Strict cookie and drops the token from the address',
  async (t) => {
    const { port } = await apiOnTcp(t);
    const bare = await send({ port }, 'GET', '/status');
    t.equal(bare.status, 401, 'no token, no page');
    t.match(
      JSON.parse(bare.body),
      { error: { code: 'CODPOS_USAGE_UNAUTHORIZED', message: /\/status\?token=/ } },
      'the refusal says how a browser gets in',
    );
    const wrong = await send({ port }, 'GET', '/status?token=not-the-token');
    t.equal(wrong.status, 401);
    t.equal(wrong.res.headers['set-cookie'], undefined, 'a wrong token gets no cookie');

    const login = await send({ port }, 'GET', `/status?token=${TOKEN}`);
    t.equal(login.status, 303);
    t.equal(login.res.headers.location, '/status', 'sent on to the page without the token');
    const setCookie = login.res.headers['set-cookie']?.[0] ?? '';
    t.match(setCookie, /^codpos_status=[^;]+; HttpOnly; SameSite=Strict; Path=\/$/);
    t.notMatch(setCookie, TOKEN, 'the cookie does not hold the token itself');
    const cookie = setCookie.split(';')[0]!;

    const page = await send({ port }, 'GET', '/status', { Cookie: cookie });
    t.equal(page.status, 200);
    t.match(page.res.headers['content-type'], /^text\/html/);
    t.match(
      page.res.headers['content-security-policy'],
      /default-src 'none'; script-src 'self'/,
      'the page loads and connects to this daemon only',
    );
    t.match(page.body, /<script src="\/status\/app\.js" defer><\/script>/);
    t.notMatch(page.body, /https?:\/\//, 'nothing from the internet');
    t.match(
      (await send({ port }, 'GET', '/status/app.js', { Cookie: cookie })).res.headers['content-type'],
      /^text\/javascript/,
    );
    t.match(
      (await send({ port }, 'GET', '/status/style.css', { Cookie: cookie })).res.headers['content-type'],
      /^text\/css/,
    );
    const summary = await send({ port }, 'GET', '/v1/status/summary', { Cookie: `other=1; ${cookie}` });
    t.equal(summary.status, 200, "the page's fetches carry the cookie among others");
    t.match(JSON.parse(summary.body), {
      daemon: { version: '1.2.3' },
      links: { host: { state: 'up' }, uplink: { state: 'degraded', reason: 'back-end unreachable' } },
    });
    const events = await send({ port }, 'GET', '/v1/events', { Cookie: cookie });
    t.equal(events.status, 200, 'and so does its EventSource');
    t.equal(events.res.headers['content-type'], 'text/event-stream');
  },
);

t.test(
  'over TCP the cookie only reads; a forged cookie or a wrong header is refused; the header alone still works',
  async (t) => {
    const { port } = await apiOnTcp(t);
    const cookie = `codpos_status=${statusCookieValue(TOKEN)}`;
    const post = await send({ port }, 'POST', '/v1/payments/cancel', { Cookie: cookie });
    t.equal(post.status, 401, 'a request that changes state needs the header, cookie or not');
    t.match(JSON.parse(post.body), { error: { code: 'CODPOS_USAGE_UNAUTHORIZED', message: /only reads/ } });
    t.equal(
      (
        await send({ port }, 'GET', '/v1/status/summary', {
          Cookie: `codpos_status=${statusCookieValue('another-token')}`,
        })
      ).status,
      401,
      "another daemon's cookie",
    );
    t.equal(
      (await send({ port }, 'GET', '/v1/status/summary', { Cookie: `codpos_status=${TOKEN}` })).status,
      401,
      'the token itself is not the cookie',
    );
    t.equal(
      (await send({ port }, 'GET', '/v1/status/summary', { Cookie: cookie, Authorization: 'Bearer wrong' })).status,
      401,
      'a wrong header is not saved by a cookie',
    );
    t.equal((await send({ port }, 'POST', `/status?token=${TOKEN}`)).status, 401, 'only a GET of the page logs in');
    t.equal((await send({ port }, 'GET', '/v1/status/summary', { Authorization: `Bearer ${TOKEN}` })).status, 200);
    t.equal(
      (await send({ port }, 'GET', `/v1/status/summary?token=${TOKEN}`)).status,
      401,
      'the token on the URL counts on the page only',
    );
  },
);

t.test('on the Unix socket the page and its summary need no token (the socket file mode decides)', async (t) => {
  const { socketPath } = await apiOnTcp(t);
  const page = await send({ socketPath }, 'GET', '/status');
  t.equal(page.status, 200);
  t.match(page.body, /<title>codposd status<\/title>/);
  const summary = JSON.parse((await send({ socketPath }, 'GET', '/v1/status/summary')).body) as Record<string, unknown>;
  t.match(summary, { devices: [], spool: null, batch: null, payments: null, courier: null });
  t.match(summary.problems, [
    /tasks: not available/,
    /devices: not available/,
    /spool: not available/,
    /batch: not available/,
    /day: not available/,
    /payments: not available/,
  ]);
});

t.test(
  'the summary of a --sim daemon after a chip payment: devices, spool, open batch, courier, the payment with its last four digits only',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' });
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR003000000CH' });
    await events.until('payment.waiting-card');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = (await paying).json;
    t.match(paid, { outcome: 'approved' });

    const { status, json } = await call(socketPath, 'GET', '/v1/status/summary');
    t.equal(status, 200);
    t.match(json, {
      devices: [
        { name: 'scanner', state: 'online' },
        { name: 'cardReader', state: 'online' },
        { name: 'pinpad', state: 'online' },
        { name: 'printer', state: 'online' },
      ],
      links: { host: { state: 'up' }, uplink: { state: 'up' } },
      spool: { depth: Number, dead: 0, streams: Array },
      batch: {
        number: 1,
        purchases: { count: 1, amount: 2500, text: 'USD 25.00' },
        refunds: { count: 0 },
        voids: { count: 0 },
      },
      courier: { id: 'C001', name: 'Sim Courier' },
      tasks: { total: 4, done: 0 },
      day: { deliveries: 0, cash: { amount: 0 }, card: { amount: 0 }, qr: { amount: 0, count: 0 } },
      payments: [
        {
          journalId: paid.journalId,
          waybill: 'RR003000000CH',
          amount: 2500,
          amountText: 'USD 25.00',
          entry: 'chip',
          state: 'approved',
          panLast4: '0119',
        },
      ],
      problems: [],
    });
    t.notMatch(JSON.stringify(json), '476173', 'not the first six digits, let alone the PAN');
  },
);

t.test('the fleet link is a link of its own where the daemon has one', async (t) => {
  const summarise = (health: Record<string, { state: 'up' | 'degraded'; reason?: string }>) =>
    statusSummary({ daemon: { pid: 1, version: 'x', startedAt: '2026-01-01T00:00:00.000Z' }, health: () => health })
      .links;
  t.same(summarise({ host: { state: 'up' }, uplink: { state: 'up' } }), {
    host: { state: 'up' },
    uplink: { state: 'up' },
  });
  t.same(
    summarise({ host: { state: 'up' }, uplink: { state: 'up' }, fleet: { state: 'degraded', reason: 'broker away' } }),
    { host: { state: 'up' }, uplink: { state: 'up' }, fleet: { state: 'degraded', reason: 'broker away' } },
  );
});

t.test('a part whose source fails is null and named in problems; the rest still answers', async (t) => {
  const summary = statusSummary({
    daemon: { pid: 1, version: 'x', startedAt: '2026-01-01T00:00:00.000Z' },
    health: () => ({ host: { state: 'up' } }),
    sources: {
      currency: '978',
      deviceStates: () => ({ printer: { state: 'offline', reason: 'no paper' } }),
      spoolStatus: () => {
        throw new Error('the spool service has not started');
      },
      openBatch: () => ({
        number: 7,
        totals: {
          purchase: { count: 2, amount: 1050 },
          refund: { count: 0, amount: 0 },
          void: { count: 1, amount: 500 },
        },
      }),
    },
    now: () => new Date('2026-01-01T10:00:00.000Z'),
  });
  t.same(summary.devices, [{ name: 'printer', state: 'offline', reason: 'no paper' }]);
  t.equal(summary.spool, null);
  t.same(summary.batch, {
    number: 7,
    purchases: { count: 2, amount: 1050, text: 'EUR 10.50' },
    refunds: { count: 0, amount: 0, text: 'EUR 0.00' },
    voids: { count: 1, amount: 500, text: 'EUR 5.00' },
  });
  t.same(summary.links, { host: { state: 'up' }, uplink: null });
  t.match(summary.problems, [
    'tasks: not available in this daemon',
    'spool: the spool service has not started',
    'day: not available in this daemon',
    'payments: not available in this daemon',
  ]);
  t.equal(summary.at, '2026-01-01T10:00:00.000Z');
});

t.test('lastFour keeps the last four digits of a masked PAN and nothing else', async (t) => {
  t.equal(lastFour('476173******0119'), '0119');
  t.equal(lastFour(null), null);
  t.equal(lastFour('******'), null);
});
