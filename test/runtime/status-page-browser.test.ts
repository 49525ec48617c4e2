/**
 * The technician's status page in a real browser: Debian's headless Chromium loads it from a
 * daemon built as `codposd --sim` over loopback TCP with the bearer token, after one simulated
 * chip payment; what the page shows is checked against the API's own answers (devices and
 * their states, the links, the open batch's totals, the payment with its last four digits
 * only); a second payment made while the page is open must appear without a reload (the
 * event stream). A screenshot is kept at .artifacts/status-page.png.
 *
 * No Chromium is a failure naming the package, not a skip: CI installs it.
 */
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromiumPath, launchHeadlessPage } from '../helpers/headless-chromium.js';
import { call, follow, startDaemon } from './daemon-fixtures.js';
import { onFreshPort } from '../helpers/ports.js';

const TOKEN = 'status-page-browser-test-token';
const CARD_PAN = '4761739001010119';
const SCREENSHOT = resolve('.artifacts/status-page.png');

/** The daemon with its API on a port the OS just handed out (tried again if another process took it meanwhile). */
async function startDaemonOnTcp(t: Test) {
  const { port, started } = await onFreshPort((port) => startDaemon(t, { api: { tcpPort: port, bearerToken: TOKEN } }));
  return { port, ...started };
}

async function payByChip(socketPath: string, amount: number, waybill: string): Promise<Record<string, unknown>> {
  const events = follow(socketPath);
  try {
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount, waybill });
    await events.until('payment.waiting-card');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await paying;
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    return paid.json;
  } finally {
    events.close();
  }
}

/** What the page shows, read from its DOM as a person reads it. */
const READ_PAGE = `(() => {
  const text = (selector) => document.querySelector(selector)?.textContent.trim() ?? null;
  const rows = (selector) => [...document.querySelectorAll(selector + ' tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent.trim()));
  return {
    url: location.href,
    cookieVisibleToScript: document.cookie,
    stream: document.body.dataset.stream,
    devices: rows('#devices'),
    links: rows('#links'),
    spoolDepth: text('#spool [data-field="depth"]'),
    batchNumber: text('#batch [data-field="number"]'),
    purchases: text('#batch [data-field="purchases"]'),
    courier: text('#day [data-field="courier"]'),
    payments: rows('#payments'),
    paymentIds: [...document.querySelectorAll('#payments tbody tr')].map((tr) => tr.dataset.journalId),
    events: [...document.querySelectorAll('#events li')].map((li) => li.dataset.type),
    problems: rows('#problems'),
    text: document.body.innerText,
  };
})()`;

interface PageView {
  url: string;
  cookieVisibleToScript: string;
  stream: string;
  devices: string[][];
  links: string[][];
  spoolDepth: string;
  batchNumber: string;
  purchases: string;
  courier: string;
  payments: string[][];
  paymentIds: string[];
  events: string[];
  text: string;
}

t.test('the status page in headless Chromium shows what the API says, live, and keeps a screenshot', async (t) => {
  chromiumPath(); // before anything else: a missing browser fails here, naming the package
  const { port, socketPath } = await startDaemonOnTcp(t);
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  t.match(await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' }), { status: 200 });
  const first = await payByChip(socketPath, 2500, 'RR003000000CH');
  t.match(first, { outcome: 'approved', receipt: { panLast4: '0119' } });

  const page = await launchHeadlessPage(1280, 1100);
  t.teardown(() => page.close());
  await page.navigate(`http://127.0.0.1:${port}/status?token=${TOKEN}`);
  await page.waitFor(
    `document.body.dataset.summaryAt && document.body.dataset.stream === 'live' && document.querySelectorAll('#payments tbody tr').length === 1`,
    'the summary drawn, the event stream live and the payment listed',
  );
  const shown = await page.evaluate<PageView>(READ_PAGE);

  t.equal(shown.url, `http://127.0.0.1:${port}/status`, 'the token left the address bar: the page runs on its cookie');
  t.equal(shown.cookieVisibleToScript, '', 'the cookie is HttpOnly: the page script cannot read it');

  const status = (await call(socketPath, 'GET', '/v1/status')).json as { services: Record<string, { state: string }> };
  const summary = (await call(socketPath, 'GET', '/v1/status/summary')).json as {
    devices: Array<{ name: string; state: string }>;
    batch: { number: number };
  };
  t.same(
    shown.devices.map(([name, state]) => [name, state]),
    summary.devices.map((device) => [device.name, device.state]),
    'each device with its state, as the API has them',
  );
  t.same(shown.devices.map(([name]) => name).sort(), ['cardReader', 'pinpad', 'printer', 'scanner']);
  t.same(
    shown.links.map(([name, state]) => [name, state]),
    [
      ['host', status.services.host!.state],
      ['uplink', status.services.uplink!.state],
    ],
    'the acquirer and back-end links as GET /v1/status has them',
  );
  t.equal(shown.batchNumber, String(summary.batch.number));
  t.equal(shown.purchases, '1 / USD 25.00', 'the open batch: one purchase of 25.00 (840 is the US dollar, ISO 4217)');
  t.equal(shown.courier, 'Sim Courier (C001)');
  t.match(shown.spoolDepth, /^\d+$/, 'the spool depth is a number');

  const payments = (await call(socketPath, 'GET', '/v1/payments')).json.payments as Array<{
    journalId: string;
    panMasked: string;
    waybill: string;
  }>;
  t.equal(payments.length, 1);
  t.same(shown.paymentIds, [payments[0]!.journalId], 'the payment the journal has');
  t.same(shown.payments[0]!.slice(1, 5), [
    'RR003000000CH',
    'USD 25.00',
    `**** ${payments[0]!.panMasked.slice(-4)}`,
    'chip',
  ]);
  t.notMatch(shown.text, CARD_PAN, 'no full PAN on the page');
  t.notMatch(shown.text, payments[0]!.panMasked.slice(0, 6), 'not even the first six digits: last four at most');

  // Live: a payment while the page is open shows without a reload.
  const second = await payByChip(socketPath, 1800, 'RR123456785CH');
  t.match(second, { outcome: 'approved' });
  await page.waitFor(
    `document.querySelectorAll('#payments tbody tr').length === 2`,
    'the second payment, pushed by the event stream',
  );
  await page.waitFor(
    `document.querySelector('#batch [data-field="purchases"]').textContent === '2 / USD 43.00'`,
    'the open batch at two purchases',
  );
  const live = await page.evaluate<PageView>(READ_PAGE);
  t.equal(live.url, shown.url, 'the same page, not reloaded');
  t.equal(live.paymentIds[0], second.journalId, 'the newest payment first');
  t.ok(live.events.includes('payment.approved'), 'the event is listed as it came');
  t.notMatch(live.text, CARD_PAN);
  t.same(page.errors, [], 'no script error and nothing the page policy refused');

  const png = await page.screenshot();
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  mkdirSync(resolve('.artifacts'), { recursive: true });
  writeFileSync(SCREENSHOT, png);
  t.comment(`status page screenshot: ${SCREENSHOT}`);
  console.log(`status page screenshot: ${SCREENSHOT}`);
});
