/**
 * Which config file is read and what kinds of file are
 * refused before reading, for codposd (start and SIGHUP) and `codpos config` alike.
 */
import t from 'tap';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { defaultConfigFile, loadConfig, MAX_CONFIG_BYTES } from '../../config/load.js';
import { INSTALLED_CONFIG_PATH, isInstalledPackage, packageRoot, simConfigPath } from '../../config/paths.js';
import { isPosError } from '../../config/errors.js';
import { loadCheckedConfig } from '../../runtime/config-check.js';

const installed = '/usr/lib/codpos';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isPosError(error, 'CODPOS_CONFIG_INVALID')) return error.details!.problems as string[];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

t.test(
  'the default path rule: --config, then CODPOS_CONFIG, then /etc on an install, then the simulated config',
  async (t) => {
    t.equal(INSTALLED_CONFIG_PATH, '/etc/codpos/config.json');
    t.same(defaultConfigFile({ file: '/x.json', env: { CODPOS_CONFIG: '/y.json' }, packageRoot: installed }), {
      file: '/x.json',
      from: 'option',
    });
    t.same(defaultConfigFile({ env: { CODPOS_CONFIG: '/y.json' }, packageRoot: installed }), {
      file: '/y.json',
      from: 'env',
    });
    t.same(defaultConfigFile({ env: {}, packageRoot: installed }), {
      file: INSTALLED_CONFIG_PATH,
      from: 'installed-default',
    });
    t.same(
      defaultConfigFile({ env: { CODPOS_CONFIG: '' }, packageRoot: installed }),
      { file: INSTALLED_CONFIG_PATH, from: 'installed-default' },
      'an empty CODPOS_CONFIG names no file',
    );
    t.same(
      defaultConfigFile({ env: {}, sim: true, packageRoot: installed }),
      { file: simConfigPath, from: 'sim-default' },
      '--sim on an install',
    );
    t.same(
      defaultConfigFile({ env: {}, packageRoot: '/home/dev/codpos' }),
      { file: simConfigPath, from: 'sim-default' },
      'a source tree',
    );
    t.same(
      defaultConfigFile({ env: {}, packageRoot }),
      { file: simConfigPath, from: 'sim-default' },
      'this checkout is a source tree',
    );
  },
);

t.test('an install is the package root under /usr/lib/codpos, nothing that merely starts with its name', async (t) => {
  t.equal(isInstalledPackage('/usr/lib/codpos'), true);
  t.equal(isInstalledPackage('/usr/lib/codpos/'), true);
  t.equal(isInstalledPackage('/usr/lib/codpos-old'), false);
  t.equal(isInstalledPackage('/opt/codpos'), false);
});

t.test('an install without /etc/codpos/config.json is an error naming the file, not the simulator', async (t) => {
  // The machines the suite runs on have no codpos installed; one that has would show here, loudly.
  t.notOk(existsSync(INSTALLED_CONFIG_PATH), `${INSTALLED_CONFIG_PATH} is absent on this machine`);
  const problems = problemsOf(() => loadCheckedConfig({ env: {}, packageRoot: installed }));
  t.match(problems, [
    /^\/etc\/codpos\/config\.json: cannot read the file \(ENOENT\); the installed daemon reads its config there/,
  ]);
  t.equal(
    loadCheckedConfig({ env: {}, sim: true, packageRoot: installed }).file,
    simConfigPath,
    'with --sim the simulated config',
  );
});

t.test(
  'the loader refuses a FIFO, a directory, a device and a file over 1 MiB without reading (a FIFO would hang it)',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-config-kind-'));
    const fifo = join(dir, 'config.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    t.equal(made.status, 0, 'mkfifo made the FIFO');
    t.same(
      problemsOf(() => loadConfig({ file: fifo, env: {} })),
      [`${fifo}: not a regular file (a FIFO); a config is a JSON file`],
    );
    t.same(
      problemsOf(() => loadConfig({ file: dir, env: {} })),
      [`${dir}: not a regular file (a directory); a config is a JSON file`],
    );
    t.same(
      problemsOf(() => loadConfig({ file: '/dev/zero', env: {} })),
      ['/dev/zero: not a regular file (a character device); a config is a JSON file'],
    );
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"terminal": {"merchantName": "${'x'.repeat(MAX_CONFIG_BYTES)}"}}`);
    t.match(
      problemsOf(() => loadConfig({ file: big, env: {} })),
      [/big\.json: \d+ bytes, over the 1048576 bytes \(1 MiB\)/],
    );
    // The same through CODPOS_CONFIG, the way an installed box's environment may name it.
    t.same(
      problemsOf(() => loadCheckedConfig({ env: { CODPOS_CONFIG: fifo } })),
      [`${fifo}: not a regular file (a FIFO); a config is a JSON file`],
    );
  },
);
