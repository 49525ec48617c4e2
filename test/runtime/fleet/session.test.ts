/**
 * What waits while the terminal or the broker is away: commands in the broker's persistent
 * session, events in the spool's outbox, and events sent across a broker crash (SIGKILL
 * and restart while the terminal keeps sending; the back-end gets every id, in order).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../spool/spool.js';
import { SpoolFleetOutbox } from '../../../runtime/fleet/spool-outbox.js';
import type { FleetMessage, InboundKind } from '../../../runtime/fleet/types.js';
import { fleetBroker, fleetMessage, makeLink, mqttClient, PATIENCE_MS, PREFIX, until } from './fixtures.js';
import type { Broker } from '../../helpers/mosquitto.js';

function tempSpool(t: Test): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-fleet-spool-'));
  const spool = Spool.open({ file: join(dir, 'spool.db') });
  t.teardown(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return spool;
}

/** The back-end's consumer: its own persistent session, reconnecting by itself (MQTT.js). */
function consumer(t: Test, broker: Broker) {
  return mqttClient(t, broker, {
    clientId: 'backend-consumer',
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 50,
    subscribe: [`${PREFIX}/t/+/events`, `${PREFIX}/t/+/params/report`],
  });
}

/** Ids in the order first received, and how many repeats there were. */
function dedupe(ids: string[]): { unique: string[]; repeats: number } {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const id of ids) if (!seen.has(id) && seen.add(id)) unique.push(id);
  return { unique, repeats: ids.length - unique.length };
}

t.test(
  'a command published while the terminal is away reaches it when it comes back (persistent session)',
  async (t) => {
    const broker = await fleetBroker(t);
    const first = makeLink(t, broker);
    let sessions: boolean[] = [];
    first.on('connected', ({ sessionPresent }) => sessions.push(sessionPresent));
    first.start();
    await until(() => first.state === 'connected', 'the first connection');
    await first.stop();
    t.same(sessions, [false], 'a new session at the first connect: the link subscribes');

    const backend = await mqttClient(t, broker);
    await backend.client.publishAsync(
      `${PREFIX}/t/TERM0001/cmd`,
      fleetMessage('cmd-away', 'cmd.diagnostics', {}, 'TERM0001'),
      { qos: 1 },
    );
    await backend.client.publishAsync(
      `${PREFIX}/t/TERM0001/tasks`,
      fleetMessage('task-away', 'task.remove', { action: 'remove', taskId: 'T-9' }),
      { qos: 1 },
    );

    const second = makeLink(t, broker);
    sessions = [];
    second.on('connected', ({ sessionPresent }) => sessions.push(sessionPresent));
    const inbound: Array<{ kind: InboundKind; message: FleetMessage }> = [];
    second.on('message', (kind, message) => inbound.push({ kind, message }));
    second.start();
    await until(() => inbound.length === 2, 'the messages queued while away');
    t.same(sessions, [true], 'the broker kept the session');
    t.same(
      inbound.map((m) => [m.kind, m.message.id]),
      [
        ['cmd', 'cmd-away'],
        ['tasks', 'task-away'],
      ],
    );
    t.equal(second.stats().sessionPresent, true);
  },
);

t.test('messages sent while the broker is down wait in the spool and go out in order on reconnect', async (t) => {
  const broker = await fleetBroker(t);
  const backend = await consumer(t, broker);
  await broker.stop();
  const spool = tempSpool(t);
  const link = makeLink(t, broker, { outbox: new SpoolFleetOutbox(spool.outbox) });
  link.start();
  const sent: string[] = [];
  for (let i = 0; i < 4; i++) sent.push((await link.send('events', 'waybill.delivered', { n: i })).id);
  const report = await link.send('params/report', 'params.report', { version: 7, applied: true });
  t.not(link.state, 'connected');
  t.equal(link.outboxDepth(), 5, 'all five wait in the outbox');
  t.same(
    spool.outbox.list({ stream: 'fleet' }).map((r) => r.id),
    sent,
    'events in stream fleet, under their own ids',
  );
  t.same(
    spool.outbox.list({ stream: 'params-report' }).map((r) => r.id),
    [report.id],
  );

  await broker.restart();
  const events = `${PREFIX}/t/TERM0001/events`;
  await until(() => backend.on(events).length >= 4, 'the waiting events');
  await until(() => backend.on(`${PREFIX}/t/TERM0001/params/report`).length >= 1, 'the report');
  t.same(dedupe(backend.on(events).map((m) => m.id as string)).unique, sent, 'in the order sent');
  await until(() => link.outboxDepth() === 0, 'the outbox emptied by the PUBACKs');
  t.equal(spool.outbox.list({ stream: 'fleet', state: 'forwarded' }).length, 4);
});

t.test('the broker SIGKILLed and restarted while the terminal sends; every event arrives', async (t) => {
  const broker = await fleetBroker(t);
  const backend = await consumer(t, broker);
  const spool = tempSpool(t);
  const link = makeLink(t, broker, { outbox: new SpoolFleetOutbox(spool.outbox) });
  link.start();
  await until(() => link.state === 'connected', 'connected');
  // Both sessions (the consumer's subscription above all) are on disk before the first crash.
  await broker.persisted();

  const total = 150;
  const sent: string[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; i < total; i++) {
      sent.push((await link.send('events', 'payment.approved', { n: i })).id);
      // Let the link publish between sends, as a courier's events come one by one.
      await new Promise((resolve) => setImmediate(resolve));
    }
    sending = false;
  })();

  for (const after of [30, 90]) {
    await until(() => link.stats().published >= after || !sending, `${after} events published`);
    await broker.kill();
    await broker.restart();
  }
  await sender;
  const events = `${PREFIX}/t/TERM0001/events`;
  const ids = () => backend.on(events).map((m) => m.id as string);
  await until(() => dedupe(ids()).unique.length >= total, 'every event at the back-end', PATIENCE_MS * 2);
  const { unique, repeats } = dedupe(ids());
  t.same(unique, sent, 'every id, none lost, in the order sent');
  t.comment(`${repeats} repeats (QoS 1 resends, deduped by id); ${link.stats().connects} connections`);
  t.ok(link.stats().connects >= 3, 'the link reconnected after each crash');
  t.ok(
    ids().every((id) => sent.includes(id)),
    'a repeat is only ever an id that was sent',
  );
});
