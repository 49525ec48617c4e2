/**
 * GET /metrics (runtime/api/metrics-routes.ts) on a daemon built as codposd --sim: the answer is
 * Prometheus text exposition, and its figures move with what the daemon does: payments by
 * outcome, host round trips, records the uplink sent, the event loop sampled from the first scrape.
 */
import t from 'tap';
import { request } from 'node:http';
import { call, startDaemon } from '../daemon-fixtures.js';
import { eventually } from '../payment/payment-fixtures.js';
import { PATIENT_MS, TERMINAL, startLink, until } from '../host/fixtures.js';
import { buildNetworkRequest, buildPurchase, readResponse, stanCounter } from '../../../emv/iso8583/index.js';
import { DaemonMetrics } from '../../../runtime/api/metrics-routes.js';
import { EventBus } from '../../../runtime/api/events.js';

interface Scrape {
  status: number;
  contentType: string;
  text: string;
}

function scrape(socketPath: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9][0-9.e+-]*|NaN|[+-]Inf)$/;
const COMMENT_LINE =
  /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

/** The samples of a text exposition; a line that is neither a sample, a HELP/TYPE comment nor empty throws. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (!COMMENT_LINE.test(line)) throw new Error(`not a HELP or TYPE line: ${line}`);
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function has(samples: Sample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

async function pay(socketPath: string, amount: number): Promise<Record<string, unknown>> {
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = (await call(socketPath, 'POST', '/v1/payments/card', { amount })).json;
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
  return paid;
}

t.test(
  'GET /metrics: Prometheus text; payments, host round trips and records sent move with chip payments',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const first = await scrape(socketPath);
    t.equal(first.status, 200);
    t.match(first.contentType, /^text\/plain; version=0\.0\.4/);
    const before = parseExposition(first.text);
    for (const device of ['scanner', 'cardReader', 'pinpad', 'printer'])
      t.equal(total(before, 'codpos_device_up', { device }), 1, `${device} is up`);
    t.equal(total(before, 'codpos_link_state', { link: 'host', state: 'up' }), 1, 'the host link is up');
    t.equal(total(before, 'codpos_link_state', { link: 'host', state: 'down' }), 0);
    t.ok(has(before, 'codpos_link_state', { link: 'uplink' }), 'the uplink state is there');
    for (const stream of ['transaction', 'waybill-event', 'reversal', 'advice']) {
      t.ok(has(before, 'codpos_spool_depth', { stream }), `spool depth of ${stream}`);
      t.ok(has(before, 'codpos_spool_oldest_pending_age_seconds', { stream }), `oldest age of ${stream}`);
    }
    t.ok(has(before, 'codpos_uplink_lag_seconds'));
    t.equal(
      total(before, 'codpos_payments_total', { outcome: 'approved' }),
      0,
      'every outcome is there from the start, at 0',
    );
    t.equal(total(before, 'codpos_payments_total', { outcome: 'cancelled' }), 0);
    t.notOk(
      has(before, 'codpos_event_loop_delay_seconds'),
      'the event loop is sampled from the first scrape on: no figures in it',
    );
    const roundTripsBefore = total(before, 'codpos_host_round_trip_seconds_count');

    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    t.match(await pay(socketPath, 2500), { outcome: 'approved' });
    t.match(await pay(socketPath, 1800), { outcome: 'approved' });
    await call(socketPath, 'POST', '/v1/sim/pinpad', { cancel: true });
    t.match(await pay(socketPath, 900), { outcome: 'cancelled' });

    const after = parseExposition((await scrape(socketPath)).text);
    t.equal(total(after, 'codpos_payments_total', { outcome: 'approved' }), 2, 'two approved');
    t.equal(total(after, 'codpos_payments_total', { outcome: 'cancelled' }), 1, 'one cancelled');
    t.equal(total(after, 'codpos_payments_total', { outcome: 'declined' }), 0);
    t.ok(
      total(after, 'codpos_host_round_trip_seconds_count') >= roundTripsBefore + 2,
      'each approved payment went to the acquirer and back',
    );
    t.ok(total(after, 'codpos_host_round_trip_seconds_sum') > 0, 'the round trips took time');
    t.ok(has(after, 'codpos_host_round_trip_seconds_bucket', { le: '+Inf' }), 'a histogram with its buckets');
    t.ok(
      has(after, 'codpos_event_loop_delay_seconds', { quantile: '0.99' }),
      'the event loop sampled since the first scrape',
    );
    // The two approved payments' records go to the (simulated) back-end after their answers.
    await eventually(
      async () =>
        total(parseExposition((await scrape(socketPath)).text), 'codpos_uplink_records_sent_total', {
          stream: 'transaction',
        }) >= 2,
      'the uplink sent the transaction records',
    );
    t.notMatch(
      after.map((s) => JSON.stringify(s.labels)).join(''),
      /4761739001010119|0119/,
      'no card number in a label',
    );
  },
);

t.test(
  'while the back-end is away: the payment record waits in the spool, the uplink lag grows, the uplink is degraded',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    t.match(await call(socketPath, 'POST', '/v1/sim/backend', { outage: true }), { status: 200 });
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    t.match(await pay(socketPath, 2500), { outcome: 'approved' });
    let samples: Sample[] = [];
    await eventually(async () => {
      samples = parseExposition((await scrape(socketPath)).text);
      return (
        total(samples, 'codpos_uplink_lag_seconds') > 0 &&
        total(samples, 'codpos_link_state', { link: 'uplink', state: 'degraded' }) === 1
      );
    }, 'the uplink lag above 0 and the uplink degraded');
    t.ok(total(samples, 'codpos_spool_depth', { stream: 'transaction' }) >= 1, 'the transaction record waits');
    t.ok(
      total(samples, 'codpos_spool_oldest_pending_age_seconds', { stream: 'transaction' }) > 0,
      'its age is measured',
    );
    t.equal(total(samples, 'codpos_link_state', { link: 'uplink', state: 'up' }), 0);
    t.equal(total(samples, 'codpos_uplink_records_sent_total', { stream: 'transaction' }), 0, 'nothing sent');
  },
);

t.test(
  'host exchanges over a real link: a time-out is counted (its late answer is no round trip), an answer is a round trip, an observer that throws costs no answer',
  async (t) => {
    const link = await startLink({ rules: [{ mti: '0200', action: 'late', delayMs: 250, times: 1 }] });
    t.teardown(() => link.close());
    const metrics = new DaemonMetrics(new EventBus(), {
      deviceStates: () => ({}),
      health: () => ({}),
      spoolStreams: () => {
        throw new Error('the spool is not open');
      },
      uplinkStreams: [],
      hostExchanges: (observer) => link.mux.observe(observer),
    });
    metrics.start();
    t.teardown(() => metrics.stop());
    link.mux.observe(() => {
      throw new Error('a broken observer');
    });
    const stans = stanCounter(40);
    const purchase = buildPurchase(
      { amount: 1500, card: { pan: '4761739001010119', expiry: '2812' }, posEntryMode: '012' },
      { ...TERMINAL, nextStan: stans },
    );
    t.match(await link.mux.request(purchase, 60).catch((e: unknown) => e), { code: 'CODPOS_HOST_TIMEOUT' });
    await until(() => link.mux.counters.late === 1, 'the late answer');
    const echo = buildNetworkRequest('echo', { ...TERMINAL, nextStan: stans });
    t.equal(
      readResponse(await link.mux.request(echo, PATIENT_MS), echo).outcome,
      'approved',
      'the echo is answered although an observer threw',
    );
    t.ok(
      link.log.lines.some((line) => line.msg === 'host exchange observer failed'),
      'the broken observer is logged',
    );
    const text = await metrics.scrape();
    const samples = parseExposition(text);
    t.equal(total(samples, 'codpos_host_timeouts_total', { mti: '0200' }), 1, 'the time-out counted');
    t.equal(
      total(samples, 'codpos_host_round_trip_seconds_count', { mti: '0200' }),
      0,
      'its late answer is not a round trip',
    );
    t.equal(total(samples, 'codpos_host_round_trip_seconds_count', { mti: '0800' }), 1, 'the echo is one');
    t.notOk(
      has(samples, 'codpos_spool_depth'),
      'a spool that cannot be read leaves its series out, the scrape answers',
    );
    t.notMatch(text, '4761739001010119');
  },
);
