/**
 * `npm run package`: builds the Debian package of the terminal, codpos_<version>_<arch>.deb,
 * from the built tree (`npm run build` runs first) with dpkg-deb. The layout, and what each
 * file is for, is docs/install.md's:
 *
 *   /usr/lib/codpos/{dist,config,package.json,node_modules}  the daemon and CLI, production deps only
 *   /usr/bin/codpos, /usr/bin/codposd                          sh wrappers that exec node on them
 *   /lib/systemd/system/codposd.service                        the hardened unit
 *   /usr/lib/sysusers.d/codpos.conf, /usr/lib/tmpfiles.d/codpos.conf, /usr/lib/udev/rules.d/70-codpos.rules
 *   /etc/codpos/config.json                                    the example config, a conffile
 *   /usr/share/doc/codpos/examples/codposd-ble.conf            the Bluetooth LE drop-in
 *
 * The architecture is the build machine's (`dpkg --print-architecture`): node_modules holds
 * native modules compiled for it, so a package for an ARM box is built on an ARM machine
 * (docs/install.md).
 *
 * Usage: node dist/scripts/package.js [--out DIR] [--compression xz|gzip|none]
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PosError } from '../config/errors.js';
import { packageRoot } from '../config/paths.js';
import { DAEMON_NODE_FLAGS } from './daemon-node-flags.js';

/** Where the package puts the application; the wrappers and docs/install.md name it too. */
export const INSTALL_DIR = '/usr/lib/codpos';
export const CONFFILE = '/etc/codpos/config.json';
export const PACKAGE_NAME = 'codpos';

export type Compression = 'xz' | 'gzip' | 'none';

export interface BuildPackageOptions {
  /** Directory the .deb is written to. */
  outDir: string;
  /** xz (smallest, the default) or gzip/none for quicker builds, e.g. in tests. */
  compression?: Compression;
  /** The checkout to package; the one this script belongs to unless given. */
  sourceRoot?: string;
}

export interface BuiltPackage {
  file: string;
  version: string;
  arch: string;
}

/** Runs a build tool; a missing tool is named with the Debian package that provides it. */
function run(tool: string, args: string[], debianPackage: string, cwd?: string): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new PosError(
      'CODPOS_USAGE_PACKAGE_TOOL_MISSING',
      `${tool} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`,
      {
        details: { tool, debianPackage },
      },
    );
  }
  if (result.status !== 0) {
    throw new PosError(
      'CODPOS_USAGE_PACKAGE_TOOL_FAILED',
      `${tool} ${args.join(' ')} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim()}`,
      {
        details: { tool, status: result.status },
      },
    );
  }
  return result.stdout;
}

export function debianArchitecture(): string {
  return run('dpkg', ['--print-architecture'], 'dpkg').trim();
}

/**
 * The installed production dependencies (npm's own list, so nested and hoisted packages are
 * found as npm resolved them), as paths relative to the source root.
 */
function productionDependencyDirs(sourceRoot: string): string[] {
  const listed = run('npm', ['ls', '--omit=dev', '--all', '--parseable'], 'npm', sourceRoot)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return listed.map((dir) => relative(sourceRoot, dir)).filter((dir) => dir.startsWith(`node_modules${sep}`));
}

/**
 * Copies one package without its nested node_modules (each nested production package is
 * listed, and copied, on its own: a nested dev-only one is left out) and without the object
 * files and static libraries node-gyp leaves beside a compiled module under build/ (better-sqlite3's
 * are 12 MB, unused at run time: only the .node file is loaded).
 */
const BUILD_LEFTOVERS = new Set(['obj', 'obj.target', '.deps']);

function copyDependency(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      const rel = relative(from, source);
      const parts = rel.split(sep);
      if (parts[0] === 'node_modules') return false;
      if (parts[0] !== 'build') return true;
      return !parts.some((part) => BUILD_LEFTOVERS.has(part)) && !source.endsWith('.a');
    },
  });
}

function wrapper(script: string, nodeFlags: readonly string[] = []): string {
  // exec: the daemon keeps the shell's PID, which is the PID systemd supervises and notifies from.
  return `#!/bin/sh\nexec /usr/bin/node ${[...nodeFlags, `${INSTALL_DIR}/${script}`].join(' ')} "$@"\n`;
}

function controlFile(version: string, arch: string, installedKiB: number): string {
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: codpos maintainers <codpos@localhost>',
    `Installed-Size: ${installedKiB}`,
    // libusb-1.0-0: node-hid's and usb's bindings load it at run time. tzdata: the wall clock's zone files (config/tzif.ts). procps: /bin/kill for the unit's ExecReload.
    'Depends: nodejs (>= 20), libusb-1.0-0, tzdata, procps',
    'Recommends: systemd, udev',
    'Section: misc',
    'Priority: optional',
    'Description: courier cash-on-delivery payment terminal daemon',
    " codposd drives the terminal's scanner, EMV card reader, PIN pad and printer,",
    ' talks ISO 8583 to the acquirer and keeps a SQLite journal; codpos is its CLI.',
    '',
  ].join('\n');
}

function diskUsageKiB(dir: string): number {
  return Number(run('du', ['-sk', dir], 'coreutils').split('\t')[0]);
}

/** Writes the package's file tree (what dpkg-deb packs) into stageDir, which must be empty or absent. */
export function stagePackage(stageDir: string, arch: string, sourceRoot: string = packageRoot): { version: string } {
  const manifest = JSON.parse(readFileSync(join(sourceRoot, 'package.json'), 'utf8')) as { version: string };
  const bundle = join(sourceRoot, 'dist', 'daemon', 'codposd.cjs');
  if (!existsSync(bundle) || !existsSync(join(sourceRoot, 'dist', 'cli', 'codpos.cjs'))) {
    throw new PosError(
      'CODPOS_USAGE_PACKAGE_NOT_BUILT',
      `${relative(sourceRoot, bundle)} or dist/cli/codpos.cjs is missing: run npm run build first`,
    );
  }
  const at = (path: string) => join(stageDir, path);
  const lib = at(INSTALL_DIR);
  mkdirSync(lib, { recursive: true });
  cpSync(join(sourceRoot, 'dist'), join(lib, 'dist'), {
    recursive: true,
    // dist/ holds what tsc and the bundler wrote; an earlier package is not part of the next.
    filter: (source) => !source.endsWith('.deb'),
  });
  cpSync(join(sourceRoot, 'config'), join(lib, 'config'), {
    recursive: true,
    filter: (source) => !source.endsWith('.ts'),
  });
  cpSync(join(sourceRoot, 'package.json'), join(lib, 'package.json'));
  for (const dir of productionDependencyDirs(sourceRoot)) copyDependency(join(sourceRoot, dir), join(lib, dir));

  mkdirSync(at('usr/bin'), { recursive: true });
  writeFileSync(at('usr/bin/codpos'), wrapper('dist/cli/codpos.js'), { mode: 0o755 });
  writeFileSync(at('usr/bin/codposd'), wrapper('dist/daemon/codposd.js', DAEMON_NODE_FLAGS), { mode: 0o755 });

  const place = (from: string, to: string, mode = 0o644) => {
    mkdirSync(dirname(at(to)), { recursive: true });
    cpSync(join(sourceRoot, from), at(to));
    chmodSync(at(to), mode);
  };
  place('scripts/systemd/codposd.service', 'lib/systemd/system/codposd.service');
  place('packaging/sysusers.conf', 'usr/lib/sysusers.d/codpos.conf');
  place('packaging/tmpfiles.conf', 'usr/lib/tmpfiles.d/codpos.conf');
  place('packaging/70-codpos.rules', 'usr/lib/udev/rules.d/70-codpos.rules');
  place('packaging/examples/codposd-ble.conf', 'usr/share/doc/codpos/examples/codposd-ble.conf');
  place('config/example.json', CONFFILE.slice(1));

  const installedKiB = diskUsageKiB(stageDir);
  mkdirSync(at('DEBIAN'), { recursive: true });
  writeFileSync(at('DEBIAN/control'), controlFile(manifest.version, arch, installedKiB));
  // dpkg keeps a site's edited config on upgrade (and asks) because it is listed here.
  writeFileSync(at('DEBIAN/conffiles'), `${CONFFILE}\n`);
  for (const script of ['postinst', 'prerm', 'postrm']) place(`packaging/debian/${script}`, `DEBIAN/${script}`, 0o755);
  return { version: manifest.version };
}

/** Stages the tree in a scratch directory and packs it into outDir/codpos_<version>_<arch>.deb. */
export function buildPackage(options: BuildPackageOptions): BuiltPackage {
  const sourceRoot = options.sourceRoot ?? packageRoot;
  const arch = debianArchitecture();
  const stageDir = mkdtempSync(join(tmpdir(), 'codpos-package-'));
  try {
    const { version } = stagePackage(join(stageDir, 'root'), arch, sourceRoot);
    mkdirSync(options.outDir, { recursive: true });
    const file = join(options.outDir, `${PACKAGE_NAME}_${version}_${arch}.deb`);
    const compression = options.compression ?? 'xz';
    // --root-owner-group: every file root:root whoever builds; the service's own files are made at install.
    run('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', join(stageDir, 'root'), file], 'dpkg');
    return { file, version, arch };
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): BuildPackageOptions {
  const options: BuildPackageOptions = { outDir: join(packageRoot, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--out' && value) {
      options.outDir = value;
      i++;
    } else if (argv[i] === '--compression' && (value === 'xz' || value === 'gzip' || value === 'none')) {
      options.compression = value;
      i++;
    } else {
      throw new PosError(
        'CODPOS_USAGE_PACKAGE_ARGUMENT',
        `unknown or incomplete argument ${argv[i]}: usage: package [--out DIR] [--compression xz|gzip|none]`,
      );
    }
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const built = buildPackage(parseArgs(process.argv.slice(2)));
    process.stdout.write(
      `${basename(built.file)}: ${built.file} (${Math.round(statSync(built.file).size / 1024)} KiB)\n`,
    );
  } catch (error) {
    process.stderr.write(`package: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
