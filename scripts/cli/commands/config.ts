/** `codpos config check|show`: validate a config and show it with defaults filled in and secrets masked. */
import { statSync, type Stats } from 'node:fs';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { CONFIG_FILE_ENV } from '../../../config/load.js';
import { redact } from '../../../config/masking.js';
import { action, printJson, printLines } from '../output.js';

/** A config is a few KiB of JSON; anything near this is not one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export const order = 90;

/** The full check builds the host's ISO 8583 dialect: loaded only when a config command runs. */
const checker = () => import('../../../runtime/config-check.js');

export function register(program: Command): void {
  const group = program.command('config').description('check or show the daemon configuration');

  group
    .command('check')
    .description('validate a config file (default: CODPOS_CONFIG or the embedded simulated config); exit 2 with one line per problem')
    .argument('[file]', 'config file (JSON)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (file: string | undefined, opts: { json?: boolean }) => {
        assertReadableConfigFile(file ?? process.env[CONFIG_FILE_ENV]);
        const loaded = (await checker()).loadCheckedConfig({ file });
        if (opts.json) printJson({ ok: true, file: loaded.file });
        else printLines([`${loaded.file}: ok`]);
      }),
    );

  group
    .command('show')
    .description('print the effective config (file + CODPOS_* environment + defaults), secrets masked')
    .argument('[file]', 'config file (JSON)')
    .option('--json', 'one-line JSON instead of indented JSON')
    .action(
      action(async (file: string | undefined, opts: { json?: boolean }) => {
        assertReadableConfigFile(file ?? process.env[CONFIG_FILE_ENV]);
        const { config } = (await checker()).loadCheckedConfig({ file });
        const shown = redact(config);
        if (opts.json) printJson(shown);
        else process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
      }),
    );
}

/**
 * Refuses, before anything reads it, a config that is not a regular file of at most 1 MiB:
 * reading /dev/zero never ends and opening a FIFO waits for a writer, so either hung the
 * command. A file that cannot be stat'ed is left to the loader, which names why.
 */
export function assertReadableConfigFile(file: string | undefined): void {
  if (file === undefined) return; // the embedded simulated config
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch {
    return;
  }
  const problem = !stats.isFile()
    ? `${file}: not a regular file (${fileKind(stats)}); a config is a JSON file`
    : stats.size > MAX_CONFIG_BYTES
      ? `${file}: ${stats.size} bytes, over the ${MAX_CONFIG_BYTES} bytes (1 MiB) a config may have`
      : undefined;
  if (problem !== undefined) throw new PosError('CODPOS_CONFIG_INVALID', problem, { details: { problems: [problem] } });
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}
