/** `codpos config check|show`: validate a config and show it with defaults filled in and secrets masked. */
import type { Command } from 'commander';
import { assertReadableConfigFile, CONFIG_FILE_ENV } from '../../../config/load.js';
import { redact } from '../../../config/masking.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

// The file checks (a regular file of at most 1 MiB) live with the loader, shared with the daemon.
export { MAX_CONFIG_BYTES, assertReadableConfigFile } from '../../../config/load.js';

export const order = 90;

/** The full check builds the host's ISO 8583 dialect: loaded only when a config command runs. */
const checker = () => import('../../../runtime/config-check.js');

export function register(program: Command): void {
  const group = program.command('config').description('check or show the daemon configuration');

  group
    .command('check')
    .description(`validate a config file (default: ${CONFIG_FILE_DEFAULT_HELP}); exit 2 with one line per problem`)
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
