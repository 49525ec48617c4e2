/**
 * Fleet commands: each does what its local API route or CLI command does and answers with a
 * CommandResult; a bad argument, a failing service or an unknown command is ok false with the
 * code, never a throw.
 */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import { runCommand, type CommandDeps } from '../../../runtime/fleet/commands.js';
import type { FleetMessage } from '../../../runtime/fleet/types.js';

function fakeDeps() {
  const calls: unknown[][] = [];
  let level = 'info';
  let rollbacks = 0;
  const deps: CommandDeps = {
    setLogLevel: (next) => {
      calls.push(['setLogLevel', next]);
      const previous = level;
      level = next;
      return { previous };
    },
    diagnostics: (gc) => (calls.push(['diagnostics', gc]), { pid: 42, collected: gc }),
    reprint: async (journalId) => (calls.push(['reprint', journalId]), { printed: [journalId ?? 'held-1'], held: [] }),
    retryDead: (stream) => (calls.push(['retryDead', stream]), 3),
    dayReport: (date) => (calls.push(['dayReport', date]), { date: date ?? '2026-06-01', cash: { amount: 0 } }),
    paramsRollback: async () => {
      calls.push(['paramsRollback']);
      if (rollbacks++ > 0)
        throw new PosError('CODPOS_PARAMS_NO_PREVIOUS', 'there is no previous parameter version to roll back to');
      return { outcome: 'rolled-back', version: 2 };
    },
  };
  return { deps, calls, level: () => level };
}

const cmd = (type: string, data: unknown = {}): FleetMessage<unknown> => ({
  id: 'c-1',
  type,
  at: '2026-06-01T08:00:00.000Z',
  data,
});

t.test('log-level sets the level and answers the new and the previous one', async (t) => {
  const { deps, level } = fakeDeps();
  t.same(await runCommand(deps, cmd('cmd.log-level', { level: 'debug' })), {
    commandId: 'c-1',
    command: 'log-level',
    ok: true,
    result: { level: 'debug', previous: 'info' },
  });
  t.equal(level(), 'debug');
  const bad = await runCommand(deps, cmd('cmd.log-level', { level: 'chatty' }));
  t.match(bad, { ok: false, code: 'CODPOS_USAGE_LOG_LEVEL', message: /command log-level: level/ });
  t.equal(level(), 'debug', 'a bad level changes nothing');
});

t.test('diagnostics, reprint, spool-retry and day-report pass their arguments and answer the result', async (t) => {
  const { deps, calls } = fakeDeps();
  t.same((await runCommand(deps, cmd('cmd.diagnostics'))).result, { pid: 42, collected: false });
  t.same((await runCommand(deps, cmd('cmd.diagnostics', { gc: true }))).result, { pid: 42, collected: true });
  t.same((await runCommand(deps, cmd('cmd.reprint', { journalId: 'J9' }))).result, { printed: ['J9'], held: [] });
  t.same((await runCommand(deps, cmd('cmd.reprint', { id: 'J8' }))).result, { printed: ['J8'], held: [] });
  t.same((await runCommand(deps, cmd('cmd.reprint'))).result, { printed: ['held-1'], held: [] });
  t.same((await runCommand(deps, cmd('cmd.spool-retry', { stream: 'fleet' }))).result, { retried: 3 });
  t.same((await runCommand(deps, cmd('cmd.day-report', { date: '2026-05-31' }))).result, {
    date: '2026-05-31',
    cash: { amount: 0 },
  });
  t.same(calls, [
    ['diagnostics', false],
    ['diagnostics', true],
    ['reprint', 'J9'],
    ['reprint', 'J8'],
    ['reprint', undefined],
    ['retryDead', 'fleet'],
    ['dayReport', '2026-05-31'],
  ]);
});

t.test('an unknown command is ok false with CODPOS_FLEET_UNKNOWN_COMMAND and runs nothing', async (t) => {
  const { deps, calls } = fakeDeps();
  const result = await runCommand(deps, cmd('cmd.format-disk'));
  t.same(
    { ...result, message: undefined },
    { commandId: 'c-1', command: 'format-disk', ok: false, code: 'CODPOS_FLEET_UNKNOWN_COMMAND', message: undefined },
  );
  t.match(result.message, /no fleet command "format-disk"; the terminal has log-level, diagnostics/);
  t.match(await runCommand(deps, cmd('cmd.toString')), { ok: false, code: 'CODPOS_FLEET_UNKNOWN_COMMAND' });
  t.same(calls, []);
});

t.test('bad arguments are CODPOS_FLEET_MESSAGE naming the field', async (t) => {
  const { deps, calls } = fakeDeps();
  t.match(await runCommand(deps, cmd('cmd.day-report', { date: 'yesterday' })), {
    ok: false,
    code: 'CODPOS_FLEET_MESSAGE',
    message: /command day-report: date: expected YYYY-MM-DD/,
  });
  t.match(await runCommand(deps, cmd('cmd.diagnostics', 'all')), { ok: false, code: 'CODPOS_FLEET_MESSAGE' });
  t.same(calls, []);
});

t.test(
  "a service's PosError is the result's code and message; an unexpected error is internal and logged, its text kept off the broker",
  async (t) => {
    const { deps } = fakeDeps();
    const logged: unknown[] = [];
    const log = { error: (details: Record<string, unknown>) => logged.push(details) };
    deps.retryDead = (stream) => {
      throw new PosError('CODPOS_SPOOL_UNKNOWN_STREAM', `no stream ${stream}`);
    };
    t.same(await runCommand(deps, cmd('cmd.spool-retry', { stream: 'nope' }), log), {
      commandId: 'c-1',
      command: 'spool-retry',
      ok: false,
      code: 'CODPOS_SPOOL_UNKNOWN_STREAM',
      message: 'no stream nope',
    });
    deps.reprint = async () => {
      throw new Error('printer buffer 0xdeadbeef');
    };
    const internal = await runCommand(deps, cmd('cmd.reprint'), log);
    t.match(internal, { ok: false, code: 'CODPOS_INTERNAL_FLEET_COMMAND' });
    t.notMatch(internal.message, /deadbeef/);
    t.equal(logged.length, 1);
  },
);

t.test(
  "params-rollback answers the rollback report, and the params service's refusal as ok false with its code",
  async (t) => {
    const { deps, calls } = fakeDeps();
    t.same(await runCommand(deps, cmd('cmd.params-rollback')), {
      commandId: 'c-1',
      command: 'params-rollback',
      ok: true,
      result: { outcome: 'rolled-back', version: 2 },
    });
    t.match(await runCommand(deps, cmd('cmd.params-rollback')), { ok: false, code: 'CODPOS_PARAMS_NO_PREVIOUS' });
    t.same(calls, [['paramsRollback'], ['paramsRollback']]);
  },
);
