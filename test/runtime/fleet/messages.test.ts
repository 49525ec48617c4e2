/**
 * The fleet link's pieces without a broker: topic names, the checks of inbound messages, the
 * memory outbox, and the link's settings from the config.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import { fleetTopics } from '../../../runtime/fleet/topics.js';
import { parseInbound } from '../../../runtime/fleet/messages.js';
import { MemoryFleetOutbox } from '../../../runtime/fleet/memory-outbox.js';
import { fleetLinkSettingsFromConfig } from '../../../runtime/fleet/options.js';
import { reconnectDelay } from '../../../runtime/fleet/link.js';
import type { FleetMessage } from '../../../runtime/fleet/types.js';
import { fleetMessage } from './fixtures.js';

const topics = fleetTopics('op/v2', 'BOX00001', 'south');
const own = (kind: string) => `op/v2/t/BOX00001/${kind}`;

t.test('topic names follow the prefix, the terminal id and its group', async (t) => {
  t.equal(topics.state, 'op/v2/t/BOX00001/state');
  t.equal(topics.health, 'op/v2/t/BOX00001/health');
  t.same(topics.outbound, {
    events: 'op/v2/t/BOX00001/events',
    'cmd/result': 'op/v2/t/BOX00001/cmd/result',
    'params/report': 'op/v2/t/BOX00001/params/report',
  });
  t.same(topics.subscriptions, [
    'op/v2/t/BOX00001/tasks',
    'op/v2/t/BOX00001/params',
    'op/v2/t/BOX00001/cmd',
    'op/v2/g/south/params',
    'op/v2/g/south/cmd',
  ]);
  t.equal(topics.kindOf('op/v2/g/south/cmd'), 'cmd');
  t.equal(topics.kindOf('op/v2/t/BOX00001/params'), 'params');
  t.equal(topics.kindOf('op/v2/t/BOX00001/cmd/result'), undefined, 'our own outbound topic is not inbound');
  t.equal(topics.kindOf('op/v2/g/south/tasks'), undefined, 'tasks come to one courier only');
  t.equal(topics.kindOf('op/v2/t/BOX00002/cmd'), undefined, 'another terminal');
});

const parse = (kind: 'tasks' | 'params' | 'cmd', payload: string) =>
  parseInbound(kind, own(kind), Buffer.from(payload), 'BOX00001');

t.test('inbound tasks, parameter packages and commands that pass their checks', async (t) => {
  const add = {
    action: 'add',
    task: {
      id: 'T-1',
      waybill: 'WB-1',
      kind: 'delivery',
      codAmount: 12500,
      currency: 'EUR',
      consignee: null,
      address: 'Main St 1',
    },
  };
  t.match(parse('tasks', fleetMessage('m1', 'task.add', add, 'BOX00001')), {
    kind: 'tasks',
    message: { id: 'm1', data: add },
  });
  t.match(parse('tasks', fleetMessage('m2', 'task.reroute', { action: 'reroute', taskId: 'T-1', address: 'B' })), {
    kind: 'tasks',
  });
  t.match(parse('params', fleetMessage('m3', 'params.package', { format: 'codpos-params/1' })), {
    kind: 'params',
    message: { data: { format: 'codpos-params/1' } },
  });
  t.match(parse('cmd', fleetMessage('m4', 'cmd.day-report', { date: '2026-06-01', extra: 1 })), {
    kind: 'cmd',
    command: 'day-report',
    message: { data: { date: '2026-06-01', extra: 1 } },
  });
});

t.test('a bad inbound message is CODPOS_FLEET_MESSAGE naming the topic and the field', async (t) => {
  const refused = (kind: 'tasks' | 'params' | 'cmd', payload: string, message: RegExp) =>
    t.throws(() => parse(kind, payload), { code: 'CODPOS_FLEET_MESSAGE', message }, String(message));
  refused('cmd', '{"id":', /^op\/v2\/t\/BOX00001\/cmd: not JSON/);
  refused('cmd', JSON.stringify({ id: 'x', type: 'cmd.diagnostics', data: {} }), /cmd: at:/);
  refused(
    'params',
    fleetMessage('x', 'params.package', { a: 1 }, 'BOX00002'),
    /terminal: "BOX00002" is not this terminal/,
  );
  refused('params', JSON.stringify({ id: 'x', type: 't', at: '2026-06-01T08:00:00Z', data: [1] }), /params: data:/);
  refused('cmd', fleetMessage('x', 'diagnostics', {}), /type: expected cmd\.NAME/);
  refused('cmd', fleetMessage('x', 'cmd.log-level', { level: 'loud' }), /data\.level:/);
  refused('cmd', fleetMessage('x', 'cmd.day-report', { date: '1 June' }), /data\.date:/);
  refused('tasks', fleetMessage('x', 'task.add', { action: 'fly' }), /data\.action:/);
  refused(
    'tasks',
    fleetMessage('x', 'task.add', { action: 'add', task: { id: 'T', waybill: 'W', kind: 'delivery', codAmount: 1.5 } }),
    /data\.task\.codAmount:/,
  );
  refused('tasks', fleetMessage('x', 'task.remove', { action: 'remove' }), /data\.taskId:/);
});

t.test('a command the terminal does not have is CODPOS_FLEET_UNKNOWN_COMMAND with its message id', async (t) => {
  t.throws(() => parse('cmd', fleetMessage('cmd-7', 'cmd.self-destruct', {})), {
    code: 'CODPOS_FLEET_UNKNOWN_COMMAND',
    message: /no command "self-destruct"/,
    details: { messageId: 'cmd-7', command: 'self-destruct' },
  });
});

t.test('a payload that is not JSON is refused without quoting it (it could hold card data)', async (t) => {
  const pan = '4761739001010010';
  let error: unknown;
  try {
    parse('cmd', `pan ${pan}`); // V8 quotes this payload in its own message
  } catch (caught) {
    error = caught;
  }
  t.match(error, { code: 'CODPOS_FLEET_MESSAGE' });
  t.notMatch((error as Error).message, pan);
});

const message = (id: string): FleetMessage => ({ id, type: 'e', at: '2026-06-01T08:00:00.000Z', data: {} });

t.test('the memory outbox leases in order, one batch at a time, and gives back what was released', async (t) => {
  const outbox = new MemoryFleetOutbox();
  for (const id of ['a', 'b', 'c']) await outbox.enqueue('events', message(id));
  await outbox.enqueue('events', message('a'));
  t.equal(outbox.depth(), 3, 'a repeated id is stored once');
  t.same(
    outbox.lease(2).map((m) => m.message.id),
    ['a', 'b'],
  );
  t.same(outbox.lease(2), [], 'nothing more while a batch is out');
  outbox.ack(['a']);
  outbox.release(['b']);
  t.same(
    outbox.lease(5).map((m) => m.message.id),
    ['b', 'c'],
  );
  outbox.ack(['b', 'c']);
  t.equal(outbox.depth(), 0);
});

t.test('the link settings come from the fleet section, the password read from its file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-fleet-options-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'fleet-password'), 's3cret\n', { mode: 0o600 });
  const config = (fleet: Record<string, unknown> | undefined, id = 'BOX00001') =>
    validateConfig({ terminal: { id }, data: { dir }, ...(fleet ? { fleet } : {}) });
  const settings = fleetLinkSettingsFromConfig(
    config({ url: 'mqtts://broker.example:8883', group: 'south', passwordFile: 'fleet-password' }),
    {},
  );
  t.match(settings, {
    url: 'mqtts://broker.example:8883',
    terminalId: 'BOX00001',
    username: 'BOX00001',
    password: 's3cret',
    servername: 'broker.example',
    topicPrefix: 'codpos/v1',
    sessionExpirySeconds: 7 * 24 * 3600,
  });
  t.equal(
    fleetLinkSettingsFromConfig(config({ url: 'mqtts://127.0.0.1:8883', group: 'g' }), {}).servername,
    undefined,
    'no SNI for an address',
  );
  t.throws(() => fleetLinkSettingsFromConfig(config(undefined), {}), { code: 'CODPOS_FLEET_DISABLED' });
  t.throws(() => fleetLinkSettingsFromConfig(config({ url: 'mqtt://h:1883', group: 'g', enabled: false }), {}), {
    code: 'CODPOS_FLEET_DISABLED',
  });
  t.throws(() => fleetLinkSettingsFromConfig(config({ url: 'mqtt://h:1883', group: 'g', passwordFile: 'nope' }), {}), {
    code: 'CODPOS_CONFIG_INVALID',
    message: /^fleet\.passwordFile: cannot read .*nope \(ENOENT\)/,
  });
  t.throws(
    () => fleetLinkSettingsFromConfig(config({ url: 'mqtts://h:8883', group: 'g', caFile: 'credential:fleet-ca' }), {}),
    { code: 'CODPOS_CONFIG_INVALID', message: /^fleet\.caFile: .*CREDENTIALS_DIRECTORY/ },
  );
  t.throws(() => fleetLinkSettingsFromConfig(config({ url: 'mqtt://h:1883', group: 'g' }, 'BOX/0001'), {}), {
    code: 'CODPOS_CONFIG_INVALID',
    message: /^terminal\.id: .*topic level/,
  });
});

t.test('the reconnect wait doubles from the minimum to the maximum, drawn between half and all of it', async (t) => {
  t.same(
    [1, 2, 3, 4, 5, 6, 7].map((failures) => reconnectDelay(failures, 1000, 30_000, 1)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  t.equal(reconnectDelay(3, 1000, 30_000, 0), 2000, 'half of it at the lowest draw');
  t.equal(reconnectDelay(3, 1000, 30_000, 0.5), 3000);
  t.equal(reconnectDelay(500, 1000, 60_000, 1), 60_000, 'many failures stay at the maximum');
});
