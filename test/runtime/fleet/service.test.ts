/**
 * The fleet service against a real mosquitto and a real spool: a re-route reaches the event bus
 * as tasks.updated, the same message id delivered twice is acted on once, a command is answered
 * on cmd/result (an unknown one too), the health is published retained, business events go out,
 * and with the broker away the service is degraded, events wait in the spool and go out after.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import { EventBus, type DaemonEvent } from '../../../runtime/api/events.js';
import { FleetService } from '../../../runtime/fleet/service.js';
import type { CommandDeps } from '../../../runtime/fleet/commands.js';
import { createLogger } from '../../../runtime/log.js';
import { openTestSpool } from '../../spool/helpers.js';
import { fleetBroker, fleetMessage, mqttClient, until, GROUP, PREFIX, PASSWORDS } from './fixtures.js';
import type { Broker } from '../../helpers/mosquitto.js';

const TERMINAL = 'TERM0001';
const T = `${PREFIX}/t/${TERMINAL}`;

async function setUp(t: Test, broker: Broker) {
  const { spool, dir } = openTestSpool();
  t.teardown(() => spool.close());
  spool.tasks.replace(
    [
      {
        id: 'T1',
        waybill: 'RR123456785CH',
        kind: 'delivery',
        codAmount: 2500,
        currency: '756',
        consignee: 'A. Muster',
        address: 'Bahnhofstrasse 1, Zurich',
      },
    ],
    [],
  );
  writeFileSync(join(dir, 'fleet.pw'), `${PASSWORDS[TERMINAL]}\n`, { mode: 0o600 });
  const config = validateConfig({
    terminal: { id: TERMINAL },
    data: { dir },
    fleet: { url: broker.url, group: GROUP, passwordFile: 'fleet.pw', healthIntervalMs: 3_600_000 },
  });
  const events = new EventBus();
  const seen: DaemonEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const levels: string[] = [];
  const commands: CommandDeps = {
    setLogLevel: (level) => (levels.push(level), { previous: 'info' }),
    diagnostics: () => ({ pid: 1 }),
    reprint: async () => ({ printed: [], held: [] }),
    retryDead: () => 0,
    dayReport: () => ({}),
    paramsRollback: async () => ({ outcome: 'rolled-back' }),
  };
  const service = new FleetService(config, createLogger({ level: 'silent' }), {
    spool: () => spool,
    events,
    health: () => ({ spool: { state: 'up' } }),
    deviceStates: () => ({ printer: { state: 'online' } }),
    commands,
    version: '9.9.9-test',
    link: { reconnectMinMs: 20, reconnectMaxMs: 200 },
  });
  t.teardown(() => service.stop());
  return { spool, events, seen, levels, service };
}

t.test(
  'a re-route is applied and on the bus at once; the same id twice is acted on once; commands are answered',
  async (t) => {
    const broker = await fleetBroker(t);
    const backend = await mqttClient(t, broker, { subscribe: [`${T}/cmd/result`, `${T}/health`] });
    const { spool, seen, levels, service } = await setUp(t, broker);
    await service.start();
    await until(() => service.health().state === 'up', 'the link to connect');
    await until(() => backend.on(`${T}/health`).length > 0, 'the health message');
    t.match(backend.on(`${T}/health`)[0], {
      terminal: TERMINAL,
      versions: { codpos: '9.9.9-test', params: null },
      devices: { printer: { state: 'online' } },
    });

    const reroute = fleetMessage('m-1', 'task.reroute', {
      action: 'reroute',
      taskId: 'T1',
      address: 'Seestrasse 9, Zurich',
    });
    await backend.client.publishAsync(`${T}/tasks`, reroute, { qos: 1 });
    await backend.client.publishAsync(`${T}/tasks`, reroute, { qos: 1 });
    // A later update is the positive signal that the repeat before it has been handled.
    await backend.client.publishAsync(
      `${T}/tasks`,
      fleetMessage('m-2', 'task.reroute', { action: 'reroute', taskId: 'T1', address: 'Dorfweg 3, Uster' }),
      { qos: 1 },
    );
    await until(() => seen.filter((e) => e.type === 'tasks.updated').length >= 2, 'two tasks.updated');
    const updates = seen
      .filter((e) => e.type === 'tasks.updated')
      .map((e) => (e.data.change as { address: string }).address);
    t.same(updates, ['Seestrasse 9, Zurich', 'Dorfweg 3, Uster'], 'm-1 acted on once, then m-2');
    t.equal(spool.tasks.task('T1')?.address, 'Dorfweg 3, Uster');

    const logLevel = fleetMessage('c-1', 'cmd.log-level', { level: 'debug' });
    await backend.client.publishAsync(`${T}/cmd`, logLevel, { qos: 1 });
    await backend.client.publishAsync(`${T}/cmd`, logLevel, { qos: 1 });
    await backend.client.publishAsync(`${PREFIX}/g/${GROUP}/cmd`, fleetMessage('c-2', 'cmd.diagnostics', {}), {
      qos: 1,
    });
    await backend.client.publishAsync(`${T}/cmd`, fleetMessage('c-3', 'cmd.self-destruct', {}), { qos: 1 });
    await until(() => backend.on(`${T}/cmd/result`).length >= 3, 'three command results');
    const results = backend.on(`${T}/cmd/result`).map((m) => m.data as Record<string, unknown>);
    t.same(
      results.map((r) => [r.commandId, r.command, r.ok, r.code]),
      [
        ['c-1', 'log-level', true, undefined],
        ['c-2', 'diagnostics', true, undefined],
        ['c-3', 'self-destruct', false, 'CODPOS_FLEET_UNKNOWN_COMMAND'],
      ],
    );
    t.same(results[0]!.result, { level: 'debug', previous: 'info' });
    t.same(levels, ['debug'], 'the repeated command ran once');
  },
);

t.test('broker away: degraded with the reason, business events spool and go out once after it is back', async (t) => {
  const broker = await fleetBroker(t);
  // A persistent session, so what the terminal sends after the restart waits for the back-end.
  const session = { clientId: 'backend-events', clean: false, properties: { sessionExpiryInterval: 3600 } };
  const before = await mqttClient(t, broker, { ...session, subscribe: [`${T}/events`] });
  const { spool, events, service } = await setUp(t, broker);
  await service.start();
  await until(() => service.health().state === 'up', 'the link to connect');
  events.publish('waybill.delivery', { id: 'e1', waybill: 'RR1' });
  await until(() => before.on(`${T}/events`).length === 1, 'the first event at the back-end');
  await before.end();
  // SIGTERM, so the back-end's session outlives the restart (a SIGKILL keeps only the last autosave).
  await broker.stop();
  await until(() => service.health().state === 'degraded', 'the link to see the broker go');
  t.match(service.health().reason, /fleet broker .*events wait in the spool/);
  events.publish('payment.approved', { journalId: 'J1', panLast4: '0010' });
  events.publish('card.inserted', {});
  events.publish('waybill.exception', { id: 'e2', waybill: 'RR2', reason: 'not-home' });
  const fleetDepth = () => spool.outbox.status().find((s) => s.stream === 'fleet')!.depth;
  await until(() => fleetDepth() === 2, 'the two business events spooled');
  await broker.restart();
  await until(() => fleetDepth() === 0, 'the spool to drain');
  const after = await mqttClient(t, broker, session);
  await until(() => after.on(`${T}/events`).length >= 2, 'the spooled events at the back-end');
  const received = [...before.on(`${T}/events`), ...after.on(`${T}/events`)];
  t.same(
    received.map((m) => m.type),
    ['waybill.delivery', 'payment.approved', 'waybill.exception'],
  );
  t.same(received[1]!.data, { journalId: 'J1', panLast4: '0010' });
  const ids = received.map((m) => m.id);
  t.equal(new Set(ids).size, 3, 'no id twice');
  await until(() => service.health().state === 'up', 'the link back up');
});
