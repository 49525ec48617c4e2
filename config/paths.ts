import { existsSync } from 'node:fs';
import { dirname, join, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found by walking up from this module to the nearest package.json.
 * Works from the TypeScript sources (tests) and from dist/ (the installed bins) alike.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('codpos: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
})();

/** The shipped configs (config/*.json) live in the source tree, not in dist/. */
export const shippedConfigDir = join(packageRoot, 'config');
export const simConfigPath = join(shippedConfigDir, 'sim.json');

/** Resolves a path setting relative to the data directory unless it is absolute. */
export function inDataDir(dataDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(dataDir, file);
}

/** Where the Debian package installs the box's config (a conffile; scripts/package.ts, docs/install.md). */
export const INSTALLED_CONFIG_PATH = '/etc/codpos/config.json';

/** Where the Debian package installs the built daemon and CLI. */
export const INSTALL_ROOT = '/usr/lib/codpos';

/**
 * True when `root` (the package root of the running code) is the installed package under
 * /usr/lib/codpos, false for a source tree or a copy anywhere else. The install location, not
 * the absence of .git or test/: a source tree exported without .git is still not an install,
 * and only the package puts the code there.
 */
export function isInstalledPackage(root: string): boolean {
  const normal = resolve(root);
  return normal === INSTALL_ROOT || normal.startsWith(INSTALL_ROOT + '/');
}

/** The environment variable naming the config file. */
export const CONFIG_FILE_ENV = 'CODPOS_CONFIG';

/** The default config file in words, for the CLI's help: the rule config/load.ts's defaultConfigFile follows. */
export const CONFIG_FILE_DEFAULT_HELP = `${CONFIG_FILE_ENV}, else ${INSTALLED_CONFIG_PATH} on an installed box, else the simulated config`;
