/**
 * The health message: its content from the sources, at the interval, at once on a change the
 * operator watches, never twice within the minimum gap. Timers are a fake queue: no sleeps.
 */
import t from 'tap';
import {
  HealthPublisher,
  healthSnapshot,
  type FleetHealth,
  type HealthSources,
  type Timers,
} from '../../../runtime/fleet/health.js';
import type { StreamStatus } from '../../../spool/outbox.js';
import type { Health } from '../../../runtime/service.js';

function stream(name: string, depth: number, dead = 0, oldestPendingAt: number | null = null): StreamStatus {
  return { stream: name, depth, ready: depth, waiting: 0, leased: 0, dead, forwarded: 0, oldestPendingAt };
}

function fakeTimers() {
  let now = 1_000_000;
  const pending: Array<{ at: number; run: () => void; id: number }> = [];
  let nextId = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (run, ms) => {
      const id = ++nextId;
      pending.push({ at: now + ms, run, id });
      return id;
    },
    clearTimeout: (handle) => {
      const i = pending.findIndex((p) => p.id === handle);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  /** Moves time on, running the timers due on the way. */
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      pending.sort((a, b) => a.at - b.at);
      const next = pending[0];
      if (!next || next.at > until) break;
      pending.shift();
      now = next.at;
      next.run();
    }
    now = until;
  };
  return { timers, advance, pending };
}

function fakeSources() {
  const state = {
    devices: { printer: { state: 'online' }, cardReader: { state: 'online' } } as Record<
      string,
      { state: string; reason?: string }
    >,
    services: { host: { state: 'up' }, fleet: { state: 'up' } } as Record<string, Health>,
    streams: [stream('payment', 0), stream('fleet', 0)],
    params: 7 as number | null,
  };
  const sources: HealthSources = {
    terminal: 'T1',
    codposVersion: '1.2.3',
    schemaVersion: 10,
    paramsVersion: () => state.params,
    deviceStates: () => state.devices,
    services: () => state.services,
    spoolStreams: () => state.streams,
  };
  return { state, sources };
}

t.test('the content: versions, devices, services, spool depths, dead and the oldest age', async (t) => {
  const { state, sources } = fakeSources();
  state.devices.printer = { state: 'offline', reason: 'paper out' };
  state.streams = [stream('payment', 2, 0, 1_000_000 - 5000), stream('fleet', 1, 1, 1_000_000 - 2000)];
  t.same(healthSnapshot(sources, 1_000_000), {
    at: new Date(1_000_000).toISOString(),
    terminal: 'T1',
    versions: { codpos: '1.2.3', schema: 10, params: 7 },
    devices: { printer: { state: 'offline', reason: 'paper out' }, cardReader: { state: 'online' } },
    services: { host: { state: 'up' }, fleet: { state: 'up' } },
    spool: {
      depth: 3,
      dead: 1,
      oldestPendingAgeMs: 5000,
      streams: { payment: { depth: 2, dead: 0 }, fleet: { depth: 1, dead: 1 } },
    },
  });
});

t.test('published at start and at each interval, not between', async (t) => {
  const { sources } = fakeSources();
  const { timers, advance } = fakeTimers();
  const sent: FleetHealth[] = [];
  const publisher = new HealthPublisher(sources, (h) => sent.push(h), { intervalMs: 60_000, timers });
  publisher.start();
  t.equal(sent.length, 1);
  advance(59_999);
  publisher.check();
  t.equal(sent.length, 1, 'nothing changed: no message before the interval');
  advance(1);
  t.equal(sent.length, 2);
  advance(120_000);
  t.equal(sent.length, 4);
  publisher.stop();
  advance(600_000);
  t.equal(sent.length, 4, 'nothing after stop');
});

t.test('a device, a service, the spool filling or emptying, a dead record: sent at once', async (t) => {
  const { state, sources } = fakeSources();
  const { timers, advance } = fakeTimers();
  const sent: FleetHealth[] = [];
  const publisher = new HealthPublisher(sources, (h) => sent.push(h), { intervalMs: 60_000, timers });
  publisher.start();
  const changes: Array<[string, () => void]> = [
    ['device offline', () => (state.devices.printer = { state: 'offline' })],
    ['link degraded', () => (state.services.fleet = { state: 'degraded', reason: 'broker away' })],
    ['spool holds records', () => (state.streams = [stream('payment', 1), stream('fleet', 0)])],
    ['more records: not a change', () => (state.streams = [stream('payment', 5), stream('fleet', 0)])],
    ['spool empty again', () => (state.streams = [stream('payment', 0), stream('fleet', 0)])],
    ['a record dead', () => (state.streams = [stream('payment', 0, 1), stream('fleet', 0)])],
    ['new parameters', () => (state.params = 8)],
  ];
  const counts: Record<string, number> = {};
  for (const [what, change] of changes) {
    advance(5_000);
    change();
    const before = sent.length;
    publisher.check();
    counts[what] = sent.length - before;
  }
  t.same(counts, {
    'device offline': 1,
    'link degraded': 1,
    'spool holds records': 1,
    'more records: not a change': 0,
    'spool empty again': 1,
    'a record dead': 1,
    'new parameters': 1,
  });
  t.same(sent.at(-1)!.versions.params, 8);
});

t.test('changes within the minimum gap are held and sent once, with the latest state', async (t) => {
  const { state, sources } = fakeSources();
  const { timers, advance } = fakeTimers();
  const sent: FleetHealth[] = [];
  const publisher = new HealthPublisher(sources, (h) => sent.push(h), { intervalMs: 60_000, minGapMs: 1000, timers });
  publisher.start();
  advance(100);
  state.devices.printer = { state: 'offline' };
  publisher.check();
  advance(100);
  state.devices.printer = { state: 'online' };
  state.devices.cardReader = { state: 'offline' };
  publisher.check();
  t.equal(sent.length, 1, 'held: within a second of the last message');
  advance(799);
  t.equal(sent.length, 1);
  advance(1);
  t.equal(sent.length, 2, 'sent when the gap is over');
  t.same(sent[1]!.devices, { printer: { state: 'online' }, cardReader: { state: 'offline' } });
  advance(59_999);
  t.equal(sent.length, 2, 'the interval counts from the last message');
  advance(1);
  t.equal(sent.length, 3);
});
