/**
 * codposd --sim with a fleet section, against a real mosquitto: a re-route published on t/T/tasks reaches the screen's event stream (GET /v1/events)
 * with the new address — the time from publish to event is measured and printed, and asserted
 * loosely (a loaded CI box); log-level then diagnostics are answered on cmd/result; with the
 * broker killed the daemon's business events wait in the spool and go out once it is back.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { startCodposd, waitForLogLine } from '../../helpers/cli.js';
import { call, follow, downloadTaskList } from '../daemon-fixtures.js';
import { daemonFleetSection, fleetBroker, fleetMessage, mqttClient, until, PREFIX } from './fixtures.js';

const TERMINAL = 'TERM0001';
const T = `${PREFIX}/t/${TERMINAL}`;

t.test(
  'codposd with a fleet link: re-route to the screen, commands answered, events spooled while the broker is killed',
  async (t) => {
    const broker = await fleetBroker(t);
    const dir = mkdtempSync(join(tmpdir(), 'codposd-fleet-'));
    const dataDir = join(dir, 'var');
    const file = join(dir, 'box.json');
    writeFileSync(
      file,
      JSON.stringify({
        terminal: { id: TERMINAL },
        data: { dir: dataDir },
        fleet: daemonFleetSection(broker, dir, TERMINAL),
      }),
    );
    const session = { clientId: 'backend-daemon', clean: false, properties: { sessionExpiryInterval: 3600 } };
    const topics = [`${T}/state`, `${T}/cmd/result`, `${T}/events`];
    const backend = await mqttClient(t, broker, { ...session, subscribe: topics });

    const daemon = startCodposd(['--sim', '--config', file]);
    t.teardown(() => daemon.kill('SIGKILL'));
    await waitForLogLine(daemon, 'ready');
    const socketPath = join(dataDir, 'codposd.sock');
    await downloadTaskList(socketPath);
    const tasks = (await call(socketPath, 'GET', '/v1/tasks')).json.tasks as Array<{ id: string; waybill: string }>;
    const task = tasks[0]!;
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await until(() => backend.on(`${T}/state`).some((s) => s.online === true), 'the terminal online at the broker');

    // Point 2: a re-route reaches the screen's event stream.
    const address = 'Seestrasse 9, 8002 Zurich';
    const published = performance.now();
    await backend.client.publishAsync(
      `${T}/tasks`,
      fleetMessage('11111111-1111-7111-8111-111111111111', 'task.reroute', {
        action: 'reroute',
        taskId: task.id,
        address,
      }),
      { qos: 1 },
    );
    await until(() => events.text().includes(address), 'the re-route on /v1/events');
    const ms = performance.now() - published;
    t.comment(`task update: publish -> /v1/events in ${ms.toFixed(1)} ms`);
    t.ok(ms < 5000, `under 5 s (${ms.toFixed(1)} ms)`);
    const sse = events.text();
    const data = JSON.parse(
      /event: tasks\.updated\ndata: (.+)\n/.exec(sse.slice(sse.lastIndexOf('event: tasks.updated')))![1]!,
    ) as Record<string, unknown>;
    t.match(data, { change: { action: 'reroute', taskId: task.id, waybill: task.waybill, address } });
    t.match((await call(socketPath, 'GET', '/v1/tasks')).json.tasks, [{ id: task.id, address }], 'the list shows it');

    // Commands: log-level, then diagnostics.
    await backend.client.publishAsync(`${T}/cmd`, fleetMessage('c-log', 'cmd.log-level', { level: 'debug' }), {
      qos: 1,
    });
    await backend.client.publishAsync(`${T}/cmd`, fleetMessage('c-diag', 'cmd.diagnostics', {}), { qos: 1 });
    await until(() => backend.on(`${T}/cmd/result`).length >= 2, 'two command results');
    const [logLevel, diagnostics] = backend.on(`${T}/cmd/result`).map((m) => m.data as Record<string, unknown>);
    t.match(logLevel, {
      commandId: 'c-log',
      command: 'log-level',
      ok: true,
      result: { level: 'debug', previous: 'info' },
    });
    t.match(diagnostics, {
      commandId: 'c-diag',
      command: 'diagnostics',
      ok: true,
      result: { pid: daemon.pid, memory: { rssBytes: Number } },
    });

    // The broker goes: business events wait in the spool, then go out, each once.
    await backend.end();
    // Killed (SIGKILL), once the back-end's session is on disk so its subscription outlives the crash.
    await broker.persisted();
    await broker.kill();
    const fleetDepth = async () => {
      const summary = (await call(socketPath, 'GET', '/v1/status/summary')).json as {
        spool: { streams: Array<{ stream: string; depth: number }> };
      };
      return summary.spool.streams.find((s) => s.stream === 'fleet')?.depth ?? 0;
    };
    await eventually(async () => {
      const status = (await call(socketPath, 'GET', '/v1/status')).json as {
        services: Record<string, { state: string }>;
      };
      return status.services.fleet?.state === 'degraded';
    }, 'the fleet service degraded');
    for (const kind of ['pickup', 'dispatch'])
      t.equal((await call(socketPath, 'POST', '/v1/waybills/events', { kind, waybill: task.waybill })).status, 200);
    await eventually(async () => (await fleetDepth()) === 2, 'both events in the spool while the broker is down');
    t.equal(await fleetDepth(), 2, 'both events wait in the spool');
    await broker.restart();
    await eventually(async () => (await fleetDepth()) === 0, 'the spool drained once the broker was back');
    const after = await mqttClient(t, broker, session);
    await until(
      () => after.on(`${T}/events`).filter((m) => String(m.type).startsWith('waybill.')).length >= 2,
      'the spooled events',
    );
    const waybillEvents = after.on(`${T}/events`).filter((m) => String(m.type).startsWith('waybill.'));
    t.same(
      waybillEvents.map((m) => m.type),
      ['waybill.pickup', 'waybill.dispatch'],
    );
    t.equal(new Set(waybillEvents.map((m) => m.id)).size, 2, 'each once');

    const exit = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    t.same(await exit, [0, null]);
  },
);

/** Polls an asynchronous condition until it holds, or fails naming `what`. */
async function eventually(condition: () => Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
