/**
 * `codpos sim host [--port N] [--config FILE] [--json]`: the acquirer host simulator on
 * 127.0.0.1, speaking the configured framing and dialect (host.*), checking PINs with
 * the simulated PIN pad's BDK. Prints its address, then one line per exchange (masked:
 * MTI, STAN, answer), and reads rule commands (help lists them) from stdin until
 * SIGINT/SIGTERM. Point a daemon at it with host.mode tcp, host.address and host.port.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { groupCommand } from '../groups.js';
import { runSimConsole } from '../sim-console.js';
import { action, printJson, printLines } from '../output.js';

export const order = 61;

interface SimHostOptions {
  port?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const group = groupCommand(program, 'sim', 'run simulators (devices, acquirer host, back-end) for a box-less setup');
  group
    .command('host')
    .description('start the acquirer host simulator on 127.0.0.1 (framing and dialect from host.*) and print its address; then read rule commands (help) from stdin')
    .option('--port <n>', 'TCP port to listen on, 0 for any free port (default: host.port)')
    .option('--config <file>', 'config file for host.* and the PIN pad BDK (default: CODPOS_CONFIG or the simulated config)')
    .option('--json', 'machine-readable output: one JSON object per line')
    .action(action(async (opts: SimHostOptions) => runSimHost(opts)));
}

function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `--port ${text}: expected a TCP port from 0 to 65535`, { details: { option: '--port' } });
  }
  return Number(text);
}

async function runSimHost(opts: SimHostOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module.
  const { loadConfig } = await import('../../../config/load.js');
  const { hostDialect } = await import('../../../runtime/host/dialect.js');
  const { hostFraming } = await import('../../../runtime/host/channel.js');
  const { AcquirerHostSimulator } = await import('../../../runtime/host/simulator.js');
  const { runSimHostCommand } = await import('../../../runtime/host/sim-commands.js');
  const { config } = loadConfig({ file: opts.config });
  const port = parsePort(opts.port, config.host.port);
  const sim = new AcquirerHostSimulator({
    dialect: hostDialect(config.host),
    framing: hostFraming(config.host),
    port,
    pinBdk: config.devices.pinpad.sim.bdk,
    pinDukpt: config.devices.pinpad.dukpt,
    onExchange: (exchange) => {
      if (opts.json) printJson({ event: 'exchange', ...exchange });
      else printLines([`host| ${exchange.mti} STAN ${exchange.stan ?? '-'} TID ${exchange.terminalId ?? '-'} -> ${exchange.answer}${exchange.delayMs ? ` (after ${exchange.delayMs} ms)` : ''}`]);
    },
  });
  const listening = await sim.start();
  if (opts.json) printJson({ address: listening.address, port: listening.port, framing: config.host.framing, dialect: config.host.dialect });
  else {
    printLines([
      `codpos acquirer host simulator listening on ${listening.address}:${listening.port} (framing ${config.host.framing}, dialect ${config.host.dialect})`,
      `Configure a daemon with host.mode "tcp", host.address "${listening.address}", host.port ${listening.port}.`,
      'Type rule commands (help lists them); Ctrl-C stops.',
    ]);
  }

  await runSimConsole((line) => runSimHostCommand(sim, line), opts);
  await sim.stop();
  if (!opts.json) printLines(['acquirer host simulator stopped']);
}
