import t from 'tap';
import { Writable } from 'node:stream';
import { loadConfig, validateConfig } from '../../config/load.js';
import { simConfigPath } from '../../config/paths.js';
import { applyReload, planReload } from '../../runtime/config-reload.js';
import { createLogger } from '../../runtime/log.js';

const running = loadConfig({ file: simConfigPath, env: {} }).config;
const withChanges = (changes: Record<string, unknown>) =>
  validateConfig({ ...structuredClone(running), ...changes } as Record<string, unknown>);

t.test('an unchanged config plans nothing', async (t) => {
  t.same(planReload(running, structuredClone(running)), { apply: [], restartNeeded: [] });
});

t.test(
  'the log level and the uplink interval apply live; every other changed setting is named (by path, never value) as needing a restart',
  async (t) => {
    const next = withChanges({
      log: { level: 'debug' },
      uplink: { ...running.uplink, intervalMs: running.uplink.intervalMs + 1000, token: 'secret-token-value' },
      data: { dir: '/var/lib/codpos' },
    });
    const plan = planReload(running, next);
    t.same(plan.apply, ['log.level', 'uplink.intervalMs']);
    // The shipped sim config's uplink is the in-process simulator, started with the old token.
    t.equal(running.uplink.mode, 'sim');
    t.same(plan.restartNeeded, ['data.dir', 'uplink.token']);
    t.notMatch(JSON.stringify(plan), /secret-token-value/, 'no value in the plan');
  },
);

t.test(
  "against a real back-end (mode http) the uplink's token applies live too; its URL waits for a restart",
  async (t) => {
    const http = withChanges({ uplink: { ...running.uplink, mode: 'http' } });
    const next = withChanges({
      uplink: { ...http.uplink, token: 'new-token', batchSize: 7, url: 'https://backend.example/api/v1' },
    });
    const plan = planReload(http, next);
    t.same(plan.apply, ['uplink.batchSize', 'uplink.token']);
    t.same(plan.restartNeeded, ['uplink.url']);
    const reconfigured: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (_c, _e, done) => done() }) });
    const now = applyReload(plan, http, next, { log, uplink: { reconfigure: (u) => reconfigured.push({ ...u }) } });
    t.match(
      reconfigured,
      [{ token: 'new-token', batchSize: 7, url: http.uplink.url }],
      'the uplink gets the new token, not the URL',
    );
    t.equal(now.uplink.url, http.uplink.url, 'the URL stays what the daemon runs with');
  },
);

t.test('a list is one setting: a changed list is one path, not one per element', async (t) => {
  const next = structuredClone(running);
  next.emv.applications = [...next.emv.applications].reverse();
  next.emv.applications.push(structuredClone(next.emv.applications[0]!));
  t.same(planReload(running, next).restartNeeded, ['emv.applications']);
});

t.test('applyReload sets the logger level and keeps the settings that wait for a restart as they run', async (t) => {
  const lines: string[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }),
  });
  const next = withChanges({ log: { level: 'debug' }, data: { dir: '/elsewhere' } });
  const plan = planReload(running, next);
  log.debug('before');
  const now = applyReload(plan, running, next, { log });
  log.debug('after');
  t.equal(log.level, 'debug');
  t.equal(now.log.level, 'debug');
  t.equal(now.data.dir, running.data.dir, 'data.dir stays what the daemon runs with');
  t.same(planReload(now, next), { apply: [], restartNeeded: ['data.dir'] }, 'a second reload still names it');
  t.equal(lines.length, 1);
  t.match(lines[0], /"msg":"after"/);
});
