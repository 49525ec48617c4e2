/**
 * `codpos sim devices [--dir DIR]`: the four device simulators on pseudo-
 * terminal pairs. Prints the driver-side paths (put them in a config's
 * `devices.<name>.transport` as `{ kind: serial, path }`), then reads script
 * commands from stdin (`help` lists them) until SIGINT/SIGTERM. `sim host` (sim-host.ts) and
 * `sim backend` (sim-backend.ts) are in the same group.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { groupCommand } from '../groups.js';
import { runSimConsole } from '../sim-console.js';
import { action, printJson, printLines } from '../output.js';
import type { MonoImage } from '../../../drivers/printer/escpos.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 60;

interface SimDevicesOptions {
  dir?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const group = groupCommand(
    program,
    'sim',
    'run simulators (devices, acquirer host, back-end, PSP) for a box-less setup',
  );
  group
    .command('devices')
    .description(
      'start the scanner, card reader, PIN pad and printer simulators on pseudo-terminals and print their paths; then read commands (help) from stdin',
    )
    .option('--dir <dir>', 'where to create the device links (default: <data.dir>/sim-devices)')
    .option(
      '--config <file>',
      `config file for the PIN pad keys, printer profile and scanner format (default: ${CONFIG_FILE_DEFAULT_HELP})`,
    )
    .option('--json', 'machine-readable output: one JSON object per line')
    .action(action(async (opts: SimDevicesOptions) => runSimDevices(opts)));
}

async function runSimDevices(opts: SimDevicesOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module.
  const { loadConfig } = await import('../../../config/load.js');
  const { startSimDevices, SIM_DEVICE_NAMES } = await import('../../../drivers/sim-devices.js');
  const { runSimCommand } = await import('../../../drivers/sim-script.js');
  const { pinpadSimOptions } = await import('../../../drivers/factory.js');
  const { monoImageToPng } = await import('../../../drivers/printer/png.js');
  const { config } = loadConfig({ file: opts.config });
  const dir = resolve(opts.dir ?? join(config.data.dir, 'sim-devices'));
  const devices = await startSimDevices({
    dir,
    scanner: {
      prefix: config.devices.scanner.prefix,
      suffix: config.devices.scanner.suffix,
      aimIds: config.devices.scanner.aimIds,
    },
    pinpad: pinpadSimOptions(config.devices.pinpad),
    printer: { profile: config.devices.printer.profile },
  });
  const say = (device: string, text: string, extra: Record<string, unknown> = {}) => {
    if (opts.json) printJson({ event: device, text, ...extra });
    else printLines(text.split('\n').map((line) => `${device}| ${line}`));
  };

  let images = 0;
  // The page's own images come with it: the simulator keeps only the latest ones.
  devices.printer.on('page', (page: string[], pageImages: MonoImage[]) => {
    const files: string[] = [];
    for (const image of pageImages) {
      const file = join(dir, `printer-${++images}.png`);
      writeFileSync(file, monoImageToPng(image));
      files.push(file);
    }
    say('printer', page.join('\n'), files.length ? { images: files } : {});
    for (const unknown of devices.printer.unknown.splice(0))
      say('printer', `unknown command ${unknown.bytes} at offset ${unknown.offset}`);
  });
  devices.pinpad.on('prompt', ({ dukpt }: { dukpt: string }) =>
    say('pinpad', `PIN requested (${dukpt} DUKPT): type press <digits>, then enter`),
  );
  devices.pinpad.on('display', (text: string) => say('pinpad', `display: ${text}`));

  if (opts.json) printJson({ dir, paths: devices.paths });
  else {
    printLines([
      `codpos simulated devices on pseudo-terminals in ${dir}:`,
      ...SIM_DEVICE_NAMES.map((name) => `  ${name.padEnd(12)} ${devices.paths[name]}`),
      'Configure a daemon with { "kind": "serial", "path": <path> } for each device.',
      'Type commands (help lists them); Ctrl-C stops.',
    ]);
  }

  await runSimConsole((line) => runSimCommand(devices, line), opts);
  await devices.stop();
  if (!opts.json) printLines(['simulated devices stopped']);
}
