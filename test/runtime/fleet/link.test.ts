/**
 * The fleet link against a real mosquitto (scripts/fleet/mosquitto.ts): per-terminal users, the
 * ACL, the retained state and its last will, outbound events in order, inbound commands checked.
 */
import t from 'tap';
import { capturedLogger, fleetBroker, fleetMessage, makeLink, mqttClient, PREFIX, until } from './fixtures.js';
import type { FleetMessage, InboundKind } from '../../../runtime/fleet/types.js';
import { MemoryFleetOutbox } from '../../../runtime/fleet/memory-outbox.js';

t.test('a terminal connects with its own credentials, sends events in order and gets its commands', async (t) => {
  const broker = await fleetBroker(t);
  const backend = await mqttClient(t, broker, { subscribe: [`${PREFIX}/t/+/#`] });
  const link = makeLink(t, broker);
  const inbound: Array<{ kind: InboundKind; message: FleetMessage; topic: string }> = [];
  link.on('message', (kind, message, topic) => inbound.push({ kind, message, topic }));
  const rejected: Array<{ code: string; topic: string }> = [];
  link.on('rejected', (error, topic) => rejected.push({ code: error.code, topic }));
  link.start();
  await until(() => link.state === 'connected', 'the link to connect');
  const state = `${PREFIX}/t/TERM0001/state`;
  await until(() => backend.on(state).length > 0, 'the online state');
  t.match(backend.on(state).at(-1), { online: true, version: 'test' });

  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await link.send('events', 'payment.approved', { n: i }));
  const events = `${PREFIX}/t/TERM0001/events`;
  await until(() => backend.on(events).length === 5, 'five events at the back-end');
  t.same(
    backend.on(events).map((m) => m.id),
    sent.map((m) => m.id),
    'every event, in the order sent',
  );
  t.match(backend.on(events)[0], { type: 'payment.approved', terminal: 'TERM0001', data: { n: 0 } });

  await backend.client.publishAsync(`${PREFIX}/t/TERM0001/cmd`, 'not json', { qos: 1 });
  await backend.client.publishAsync(`${PREFIX}/t/TERM0001/cmd`, fleetMessage('c-0', 'cmd.format-disk', {}), { qos: 1 });
  await backend.client.publishAsync(`${PREFIX}/g/north/cmd`, fleetMessage('c-1', 'cmd.log-level', { level: 'debug' }), {
    qos: 1,
  });
  await until(() => inbound.length === 1, 'the group command');
  t.match(inbound[0], {
    kind: 'cmd',
    topic: `${PREFIX}/g/north/cmd`,
    message: { id: 'c-1', data: { level: 'debug' } },
  });
  t.same(rejected, [
    { code: 'CODPOS_FLEET_MESSAGE', topic: `${PREFIX}/t/TERM0001/cmd` },
    { code: 'CODPOS_FLEET_UNKNOWN_COMMAND', topic: `${PREFIX}/t/TERM0001/cmd` },
  ]);
  t.equal(link.stats().received, 3, 'the bad messages were received, then dropped');
  t.equal(link.stats().published, 5);

  // The dropped messages were acknowledged: the broker does not give them to the next connection.
  await link.stop();
  await backend.client.publishAsync(`${PREFIX}/t/TERM0001/cmd`, fleetMessage('c-2', 'cmd.diagnostics', {}), { qos: 1 });
  const again = makeLink(t, broker);
  const later: string[] = [];
  again.on('message', (_kind, message) => later.push(message.id));
  again.on('rejected', (error) => later.push(error.code));
  again.start();
  await until(() => later.includes('c-2'), 'the command sent while away');
  t.same(later, ['c-2'], 'nothing dropped earlier came back');
});

t.test(
  'a wrong password is refused with CODPOS_FLEET_BROKER_REFUSED, logged once while the link retries',
  async (t) => {
    const broker = await fleetBroker(t);
    const { logger, lines } = capturedLogger();
    const link = makeLink(t, broker, { password: 'wrong', logger });
    let offline = 0;
    link.on('state', (state) => state === 'offline' && offline++);
    link.start();
    await until(() => offline >= 3, 'three refused attempts');
    t.equal(link.stats().lastError?.code, 'CODPOS_FLEET_BROKER_REFUSED');
    t.match(link.stats().lastError?.message, /bad user name or password|not authorized/);
    const refusals = lines.filter(
      (line) => (line.err as { code?: string } | undefined)?.code === 'CODPOS_FLEET_BROKER_REFUSED',
    );
    t.equal(refusals.length, 1, 'one log line for three refusals');
    t.notMatch(JSON.stringify(lines), /wrong/, 'the password is never logged');
    t.equal(link.stats().connects, 0);
  },
);

t.test(
  'an unreachable broker is CODPOS_FLEET_CONNECT; start does not throw and the link connects once it is there',
  async (t) => {
    const broker = await fleetBroker(t);
    await broker.stop();
    const link = makeLink(t, broker);
    link.start();
    await until(() => link.stats().lastError !== undefined, 'a failed attempt');
    t.equal(link.stats().lastError?.code, 'CODPOS_FLEET_CONNECT');
    t.not(link.state, 'connected');
    await broker.restart();
    await until(() => link.state === 'connected', 'the link to connect after the broker came');
    t.pass('connected');
  },
);

t.test('the ACL keeps a terminal out of another terminal topics', async (t) => {
  const broker = await fleetBroker(t);
  const backend = await mqttClient(t, broker, { subscribe: [`${PREFIX}/#`] });
  const intruder = await mqttClient(t, broker, {
    username: 'TERM0001',
    password: 'pw-term-1',
    clientId: 'TERM0001-raw',
  });
  // mosquitto 2.0 grants any subscription and applies the ACL to each message it would deliver.
  await intruder.client.subscribeAsync([`${PREFIX}/t/TERM0002/cmd`, `${PREFIX}/t/TERM0001/cmd`], { qos: 1 });
  // MQTT 5: the refused publish is answered PUBACK 135, not authorized.
  await t.rejects(intruder.client.publishAsync(`${PREFIX}/t/TERM0002/events`, 'forged', { qos: 1 }), { code: 135 });
  // The next message on the same connection, to its own topic, arrives after the forged one
  // would have: its arrival proves the first was not delivered.
  await intruder.client.publishAsync(`${PREFIX}/t/TERM0001/events`, 'own', { qos: 1 });
  await backend.client.publishAsync(`${PREFIX}/t/TERM0002/cmd`, 'for 2', { qos: 1 });
  await backend.client.publishAsync(`${PREFIX}/t/TERM0001/cmd`, 'for 1', { qos: 1 });
  await until(() => backend.received.some((r) => r.payload === 'own'), 'the own event');
  await until(() => intruder.received.some((r) => r.payload === 'for 1'), 'the own command');
  t.notOk(
    backend.received.some((r) => r.payload === 'forged'),
    'no forged event under TERM0002',
  );
  t.notOk(
    intruder.received.some((r) => r.payload === 'for 2'),
    'no command of TERM0002 read by TERM0001',
  );
});

t.test('the last will marks the terminal offline when its connection dies without DISCONNECT', async (t) => {
  const broker = await fleetBroker(t);
  const backend = await mqttClient(t, broker, { subscribe: [`${PREFIX}/t/TERM0001/state`] });
  const link = makeLink(t, broker, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  link.start();
  const state = `${PREFIX}/t/TERM0001/state`;
  await until(() => backend.on(state).some((s) => s.online === true), 'online');
  // The socket dies under the client: no DISCONNECT is sent, the broker publishes the will.
  (link as unknown as { connection: { client: { stream: { destroy(): void } } } }).connection.client.stream.destroy();
  await until(() => backend.on(state).at(-1)?.online === false, 'the will');
  t.equal(link.state, 'offline');
});

t.test('stop says offline (retained) and disconnects cleanly', async (t) => {
  const broker = await fleetBroker(t);
  const link = makeLink(t, broker);
  link.start();
  await until(() => link.state === 'connected', 'connected');
  await link.stop();
  t.equal(link.state, 'stopped');
  const later = await mqttClient(t, broker, { subscribe: [`${PREFIX}/t/TERM0001/state`] });
  await until(() => later.received.length > 0, 'the retained state');
  t.match(later.on(`${PREFIX}/t/TERM0001/state`)[0], { online: false });
  t.ok(later.received[0]!.retain);
});

t.test('health is retained, the latest only, and sent again on reconnect', async (t) => {
  const broker = await fleetBroker(t);
  const link = makeLink(t, broker);
  const health = `${PREFIX}/t/TERM0001/health`;
  const watcher = await mqttClient(t, broker, { subscribe: [health] });
  link.publishHealth({ n: 1 });
  link.publishHealth({ n: 2 });
  link.start();
  await until(() => watcher.on(health).some((h) => h.n === 2), 'health at connect');
  t.notOk(
    watcher.on(health).some((h) => h.n === 1),
    'only the latest health went out',
  );
  link.publishHealth({ n: 3 });
  await until(() => watcher.on(health).some((h) => h.n === 3), 'health while connected');
  await link.stop();
  const reconnected = makeLink(t, broker);
  reconnected.publishHealth({ n: 4 });
  reconnected.start();
  await until(() => watcher.on(health).some((h) => h.n === 4), 'health at the next connect');
});

t.test('sendNow publishes what another writer put in the outbox while the link was idle and connected', async (t) => {
  const broker = await fleetBroker(t);
  const reports = `${PREFIX}/t/TERM0001/params/report`;
  const backend = await mqttClient(t, broker, { subscribe: [reports] });
  const outbox = new MemoryFleetOutbox();
  const link = makeLink(t, broker, { outbox });
  link.start();
  await until(() => link.state === 'connected', 'the link to connect');
  // As the params service does: its report goes straight into the outbox, not through send().
  await outbox.enqueue('params/report', {
    id: '0193a6f0-0000-7000-8000-000000000001',
    type: 'params.report',
    at: '2026-12-05T00:00:00.000Z',
    data: { version: 3, outcome: 'applied' },
  });
  link.sendNow();
  await until(() => backend.on(reports).length === 1, 'the report at the back-end');
  t.match(backend.on(reports)[0], { id: '0193a6f0-0000-7000-8000-000000000001', data: { version: 3 } });
  await until(() => outbox.depth() === 0, 'the PUBACK to take it off the outbox');
});
