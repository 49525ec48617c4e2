/**
 * The shipped unit's hardening as systemd rates it: exposure 3.0 or
 * lower by `systemd-analyze security --offline=yes`. `systemd-analyze verify` of the unit runs in
 * package.test.ts, in the root the package unpacks to, where /usr/bin/codposd exists.
 * No systemd-analyze here is a failure naming the package to install, not a skip.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';

const unitFile = join(packageRoot, 'scripts', 'systemd', 'codposd.service');

function analyzeSecurity(file: string): { exposure: number; output: string } {
  const result = spawnSync('systemd-analyze', ['security', '--offline=yes', file], { encoding: 'utf8' });
  if (result.error) throw new Error(`systemd-analyze cannot run (${result.error.message}): install the Debian package systemd`);
  const output = result.stdout + result.stderr;
  const match = /Overall exposure level for codposd\.service: (\d+(?:\.\d+)?)/.exec(output);
  if (!match) throw new Error(`systemd-analyze security printed no exposure level (exit ${result.status}):\n${output}`);
  return { exposure: Number(match[1]), output };
}

t.test('systemd-analyze security rates the shipped unit 3.0 or lower', async (t) => {
  const { exposure, output } = analyzeSecurity(unitFile);
  t.ok(exposure <= 3.0, `exposure ${exposure} <= 3.0`, { output: exposure <= 3.0 ? undefined : output });
});

t.test('the rating would catch a unit that lost its hardening', async (t) => {
  // The same unit without its [Service] hardening block: the check above is not vacuous.
  const scratch = mkdtempSync(join(tmpdir(), 'codpos-unit-'));
  const weakened = readFileSync(unitFile, 'utf8').replace(/^# Hardening[\s\S]*?(?=\n\[Install\])/m, '');
  t.not(weakened, readFileSync(unitFile, 'utf8'), 'the hardening block was found and removed');
  const file = join(scratch, 'codposd.service');
  writeFileSync(file, weakened);
  t.ok(analyzeSecurity(file).exposure > 3.0, 'without it, the exposure is above 3.0');
});

t.test('the unit keeps what the daemon needs open', async (t) => {
  const unit = readFileSync(unitFile, 'utf8');
  const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
  t.same(settings('ExecStart'), ['/usr/bin/codposd --config /etc/codpos/config.json']);
  // V8 compiles JavaScript at run time: writable-then-executable memory must stay allowed.
  t.same(settings('MemoryDenyWriteExecute'), ['no']);
  t.same(settings('PrivateDevices'), ['no']);
  t.same(settings('DevicePolicy'), ['closed']);
  for (const kind of ['ttyS', 'ttyUSB', 'ttyACM', 'hidraw']) t.ok(settings('DeviceAllow').includes(`char-${kind} rw`), `DeviceAllow=char-${kind} rw`);
  t.same(settings('RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
  t.same(settings('IPAddressDeny'), [], 'the acquirer and the back-end are on the network');
  t.same(settings('StateDirectory'), ['codpos']);
  t.same(settings('RuntimeDirectory'), ['codpos']);
  t.same(settings('RuntimeDirectoryMode'), ['0750']);
  t.same(settings('Group'), ['codpos-ui'], 'the socket directory belongs to the screen app group');
  t.same(settings('UMask'), ['0077']);
  t.same(settings('CapabilityBoundingSet'), ['']);
});
