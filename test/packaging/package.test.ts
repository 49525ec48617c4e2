/**
 * The Debian package: built from this checkout's dist/ (run
 * `npm run build` first), unpacked with `dpkg-deb -x` into a scratch root, and checked there:
 * file list, control fields, conffile, maintainer scripts, the unit (`systemd-analyze verify`
 * in that root, so ExecStart's /usr/bin/codposd is the package's own), and the packaged CLI
 * running on the packaged node_modules. No dpkg-deb or systemd-analyze is a failure naming the
 * Debian package to install, not a skip.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { buildPackage, CONFFILE, INSTALL_DIR, type BuiltPackage } from '../../scripts/package.js';
import { DAEMON_NODE_FLAGS } from '../../scripts/daemon-node-flags.js';

function tool(name: string, args: string[], debianPackage: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const result = spawnSync(name, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000, ...options });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${name} is not installed: install the Debian package ${debianPackage}`);
  return result;
}

const scratch = mkdtempSync(join(tmpdir(), 'codpos-package-test-'));
const root = join(scratch, 'root');
let built: BuiltPackage;
let fileList: string[];
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

t.before(() => {
  // Uncompressed: the layout is what is tested here, and xz on two busy cores costs a minute.
  built = buildPackage({ outDir: scratch, compression: 'none' });
  const listed = tool('dpkg-deb', ['-c', built.file], 'dpkg');
  if (listed.status !== 0) throw new Error(`dpkg-deb -c failed: ${listed.stderr}`);
  // "drwxr-xr-x root/root 0 2026-12-05 07:50 ./usr/bin/codpos" (symlinks: "... -> target")
  fileList = listed.stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/\/$/, ''));
  const extracted = tool('dpkg-deb', ['-x', built.file, root], 'dpkg');
  if (extracted.status !== 0) throw new Error(`dpkg-deb -x failed: ${extracted.stderr}`);
});

t.test('the file is codpos_<version>_<arch>.deb for this machine', async (t) => {
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const arch = tool('dpkg', ['--print-architecture'], 'dpkg').stdout.trim();
  t.equal(built.file, join(scratch, `codpos_${version}_${arch}.deb`));
});

t.test('control fields', async (t) => {
  const field = (name: string) => tool('dpkg-deb', ['-f', built.file, name], 'dpkg').stdout.trim();
  t.equal(field('Package'), 'codpos');
  t.equal(field('Version'), built.version);
  t.equal(field('Architecture'), built.arch);
  t.equal(field('Depends'), 'nodejs (>= 20), libusb-1.0-0, tzdata, procps');
  t.ok(Number(field('Installed-Size')) > 1000, 'Installed-Size in KiB');
  t.match(field('Description'), /cash-on-delivery/);
});

t.test('the config is a conffile, and it is the example config', async (t) => {
  const control = join(scratch, 'control');
  tool('dpkg-deb', ['-e', built.file, control], 'dpkg');
  t.equal(readFileSync(join(control, 'conffiles'), 'utf8'), `${CONFFILE}\n`);
  t.equal(readFileSync(join(root, CONFFILE), 'utf8'), readFileSync(join(packageRoot, 'config', 'example.json'), 'utf8'));
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const file = join(control, script);
    t.equal(statSync(file).mode & 0o777, 0o755, `${script} is executable`);
    t.equal(tool('sh', ['-n', file], 'dash').status, 0, `${script} is valid sh`);
  }
  const postinst = readFileSync(join(control, 'postinst'), 'utf8');
  t.match(postinst, /systemd-sysusers \/usr\/lib\/sysusers\.d\/codpos\.conf/);
  t.match(postinst, /systemd-tmpfiles --create \/usr\/lib\/tmpfiles\.d\/codpos\.conf/);
  t.notMatch(readFileSync(join(control, 'postrm'), 'utf8'), /userdel|deluser|groupdel/, 'no user is ever deleted');
});

t.test('the layout', async (t) => {
  for (const path of [
    '/usr/bin/codpos',
    '/usr/bin/codposd',
    '/lib/systemd/system/codposd.service',
    '/usr/lib/sysusers.d/codpos.conf',
    '/usr/lib/tmpfiles.d/codpos.conf',
    '/usr/lib/udev/rules.d/70-codpos.rules',
    '/usr/share/doc/codpos/examples/codposd-ble.conf',
    CONFFILE,
    `${INSTALL_DIR}/package.json`,
    `${INSTALL_DIR}/config/sim.json`,
    `${INSTALL_DIR}/dist/daemon/codposd.js`,
    `${INSTALL_DIR}/dist/daemon/codposd.cjs`,
    `${INSTALL_DIR}/dist/cli/codpos.js`,
    `${INSTALL_DIR}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`,
  ]) t.ok(fileList.includes(path), path);
  t.notOk(fileList.some((path) => path.endsWith('.deb')), 'no earlier package inside');
  t.notOk(fileList.some((path) => path.includes('/obj.target/') || path.endsWith('.a')), 'no node-gyp object files');
  const modules = readdirSync(join(root, INSTALL_DIR, 'node_modules'));
  for (const dependency of ['better-sqlite3', 'serialport', 'node-hid', 'pino', 'zod', 'unix-dgram']) t.ok(modules.includes(dependency), `production dependency ${dependency}`);
  for (const devDependency of ['typescript', 'tap', 'esbuild']) t.notOk(modules.includes(devDependency), `no development dependency ${devDependency}`);
  // The daemon runs with its V8 options, the ones its code cache was made under (scripts/daemon-node-flags.ts).
  for (const [bin, command] of [['codpos', `${INSTALL_DIR}/dist/cli/codpos.js`], ['codposd', `${DAEMON_NODE_FLAGS.join(' ')} ${INSTALL_DIR}/dist/daemon/codposd.js`]] as const) {
    const file = join(root, 'usr', 'bin', bin);
    const script = command.split(' ').pop()!.slice(INSTALL_DIR.length + 1);
    t.equal(statSync(file).mode & 0o777, 0o755, `${bin} is executable`);
    t.match(readFileSync(file, 'utf8'), `exec /usr/bin/node ${command} "$@"`);
    t.ok(existsSync(join(root, INSTALL_DIR, script)), `${bin} runs a file the package holds`);
  }
  t.equal(statSync(join(root, 'lib/systemd/system/codposd.service')).mode & 0o777, 0o644);
});

t.test('sysusers and tmpfiles entries', async (t) => {
  const sysusers = readFileSync(join(root, 'usr/lib/sysusers.d/codpos.conf'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).map((line) => line.split(/\s+/).slice(0, 3).join(' '));
  t.same(sysusers, ['g codpos-ui -', 'u codpos -', 'm codpos dialout']);
  const tmpfiles = readFileSync(join(root, 'usr/lib/tmpfiles.d/codpos.conf'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).map((line) => line.split(/\s+/).slice(0, 5).join(' '));
  t.same(tmpfiles, ['d /etc/codpos 0755 root root', 'd /var/lib/codpos 0700 codpos codpos-ui', `z ${CONFFILE} 0640 root codpos`]);
  // What postinst runs, in the scratch root: the users, then the directories and the config's mode.
  const sysusersRun = tool('systemd-sysusers', [`--root=${root}`, join(root, 'usr/lib/sysusers.d/codpos.conf')], 'systemd');
  t.equal(sysusersRun.status, 0, sysusersRun.stderr);
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
  const codposUser = /^codpos:x:(\d+):(\d+):[^:]*:\/var\/lib\/codpos:\/usr\/sbin\/nologin$/m.exec(passwd);
  t.ok(codposUser, 'the system user codpos, no login, home in the state directory');
  const group = readFileSync(join(root, 'etc/group'), 'utf8');
  t.match(group, /^dialout:x:\d+:codpos$/m, 'codpos is in dialout');
  const gid = (name: string) => Number(new RegExp(`^${name}:x:(\\d+):`, 'm').exec(group)?.[1]);
  t.ok(gid('codpos-ui') >= 0, 'the group codpos-ui');
  const tmpfilesRun = tool('systemd-tmpfiles', [`--root=${root}`, '--create', join(root, 'usr/lib/tmpfiles.d/codpos.conf')], 'systemd');
  t.equal(tmpfilesRun.status, 0, tmpfilesRun.stderr);
  const config = statSync(join(root, CONFFILE));
  t.equal(config.mode & 0o777, 0o640, 'the config (tokens) is not world-readable');
  t.equal(config.gid, gid('codpos'), 'the daemon reads it through its group codpos');
  const state = statSync(join(root, 'var/lib/codpos'));
  t.equal(state.mode & 0o777, 0o700);
  t.equal(state.uid, Number(codposUser?.[1]), 'the state directory belongs to codpos');
});

/** The unit files systemd itself ships (targets, slices): verify needs them inside the root it checks. */
function addSystemTargets(into: string): void {
  for (const name of readdirSync('/lib/systemd/system')) {
    if (name.endsWith('.target') || name.endsWith('.slice')) cpSync(join('/lib/systemd/system', name), join(into, 'lib/systemd/system', name), { dereference: true });
  }
}

t.test('systemd-analyze verify passes on the installed unit, with and without the BLE drop-in', async (t) => {
  tool('systemd-analyze', ['--version'], 'systemd');
  addSystemTargets(root);
  // ExecReload runs the OS's /bin/kill (procps), which a real box has and the scratch root lacks.
  mkdirSync(join(root, 'bin'), { recursive: true });
  cpSync('/bin/kill', join(root, 'bin/kill'), { dereference: true });
  const verify = () => tool('systemd-analyze', ['verify', `--root=${root}`, '--man=no', 'codposd.service'], 'systemd');
  const plain = verify();
  t.equal(plain.status, 0, 'exit 0');
  t.equal(plain.stderr.trim(), '', 'no warning (an unknown or malformed setting is only a warning)');

  const dropIns = join(root, 'etc/systemd/system/codposd.service.d');
  mkdirSync(dropIns, { recursive: true });
  cpSync(join(root, 'usr/share/doc/codpos/examples/codposd-ble.conf'), join(dropIns, 'ble.conf'));
  const withBle = verify();
  t.equal(withBle.status, 0, 'exit 0 with the drop-in');
  t.equal(withBle.stderr.trim(), '', 'no warning with the drop-in');
});

t.test('the packaged CLI runs on the packaged dependencies and accepts the conffile', async (t) => {
  const cli = join(root, INSTALL_DIR, 'dist/cli/codpos.js');
  // The CA keys file is the acquirer's and the site's (docs/install.md); empty means the lab keys here.
  const env = { PATH: process.env.PATH, CODPOS_EMV__CA_KEYS_FILE: '' };
  const checked = spawnSync(process.execPath, [cli, 'config', 'check', join(root, CONFFILE)], { encoding: 'utf8', env, cwd: scratch });
  t.equal(checked.status, 0, checked.stderr);
  const daemonHelp = spawnSync(process.execPath, [join(root, INSTALL_DIR, 'dist/daemon/codposd.js'), '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH }, cwd: scratch });
  t.equal(daemonHelp.status, 0, daemonHelp.stderr);
  t.match(daemonHelp.stdout, /--config/);
  // better-sqlite3's compiled module loads from the package (what the spool needs).
  const sqlite = spawnSync(process.execPath, ['-e', "const D=require(process.argv[1]); console.log(new D(':memory:').prepare('select 41+1 as n').get().n)", join(root, INSTALL_DIR, 'node_modules/better-sqlite3')], { encoding: 'utf8' });
  t.equal(sqlite.stdout.trim(), '42', sqlite.stderr);
});
