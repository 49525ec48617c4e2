/**
 * `codpos sim host [--port N] [--config FILE] [--json] [--faults LIST] [--reversal-faults LIST]
 * [--fault-seed N] [--late-ms N]`: the acquirer host simulator on 127.0.0.1, speaking the
 * configured framing and dialect (host.*), checking PINs with the simulated PIN pad's BDK.
 * Prints its address, then one line per exchange (masked: MTI, STAN, answer, a refusal's
 * reason, the fault drawn), and reads rule commands (help lists them) from stdin until
 * SIGINT/SIGTERM. Point a daemon at it with host.mode tcp, host.address and host.port.
 */
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import type { SimExchange } from '../../../runtime/host/sim-exchange.js';
import { groupCommand } from '../groups.js';
import { runSimConsole } from '../sim-console.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 61;

interface SimHostOptions {
  port?: string;
  config?: string;
  json?: boolean;
  faults?: string;
  reversalFaults?: string;
  faultSeed?: string;
  lateMs?: string;
}

export function register(program: Command): void {
  const group = groupCommand(
    program,
    'sim',
    'run simulators (devices, acquirer host, back-end, PSP) for a box-less setup',
  );
  group
    .command('host')
    .description(
      'start the acquirer host simulator on 127.0.0.1 (framing and dialect from host.*) and print its address; then read rule commands (help) from stdin',
    )
    .option('--port <n>', 'TCP port to listen on, 0 for any free port (default: host.port)')
    .option('--config <file>', `config file for host.* and the PIN pad BDK (default: ${CONFIG_FILE_DEFAULT_HELP})`)
    .option('--json', 'machine-readable output: one JSON object per line')
    .option(
      '--faults <rates>',
      'random faults per purchase, e.g. silent=0.05,late=0.05,drop=0.02,decline05=0.05,decline91=0.05,partial=0.05',
    )
    .option(
      '--reversal-faults <rates>',
      'random faults per reversal (the terminal must repeat it), e.g. silent=0.1,drop=0.05',
    )
    .option('--fault-seed <n>', 'seed of the fault draws, 0 to 4294967295 (default: a random one, printed)')
    .option('--late-ms <n>', 'how long a late fault holds its answer back, milliseconds (default 1000)')
    .action(action(async (opts: SimHostOptions) => runSimHost(opts)));
}

function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `--port ${text}: expected a TCP port from 0 to 65535`, {
      details: { option: '--port' },
    });
  }
  return Number(text);
}

function parseWhole(option: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) > max) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `${option} ${text}: expected a whole number from 0 to ${max}`, {
      details: { option },
    });
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
  const { parseFaultRates, checkFaultOptions, SIM_REVERSAL_FAULTS } =
    await import('../../../runtime/host/sim-faults.js');
  // Options first: a mistake is reported before any config is read or port taken.
  const rates = opts.faults === undefined ? undefined : parseFaultRates(opts.faults);
  const reversalRates =
    opts.reversalFaults === undefined ? undefined : parseFaultRates(opts.reversalFaults, SIM_REVERSAL_FAULTS);
  const seed = parseWhole('--fault-seed', opts.faultSeed, 0xffffffff);
  const lateMs = parseWhole('--late-ms', opts.lateMs, 3_600_000);
  const faults =
    rates === undefined && reversalRates === undefined
      ? undefined
      : {
          seed: seed ?? randomInt(0, 0xffffffff),
          rates: rates ?? {},
          ...(reversalRates ? { reversalRates } : {}),
          ...(lateMs !== undefined ? { lateMs } : {}),
        };
  if (faults) checkFaultOptions(faults);
  const { config } = loadConfig({ file: opts.config });
  const port = parsePort(opts.port, config.host.port);
  const sim = new AcquirerHostSimulator({
    dialect: hostDialect(config.host),
    framing: hostFraming(config.host),
    port,
    pinBdk: config.devices.pinpad.sim.bdk,
    pinDukpt: config.devices.pinpad.dukpt,
    ...(faults ? { faults } : {}),
    onExchange: (exchange) => {
      if (opts.json) printJson({ event: 'exchange', ...exchange });
      else printLines([describeExchange(exchange)]);
    },
  });
  const listening = await sim.start();
  if (opts.json)
    printJson({
      address: listening.address,
      port: listening.port,
      framing: config.host.framing,
      dialect: config.host.dialect,
      ...(faults ? { faults } : {}),
    });
  else {
    printLines([
      `codpos acquirer host simulator listening on ${listening.address}:${listening.port} (framing ${config.host.framing}, dialect ${config.host.dialect})`,
      ...(faults
        ? [
            `Random faults, seed ${faults.seed}: ${JSON.stringify({ purchase: faults.rates, reversal: faults.reversalRates ?? {} })}`,
          ]
        : []),
      `Configure a daemon with host.mode "tcp", host.address "${listening.address}", host.port ${listening.port}.`,
      'Type rule commands (help lists them); Ctrl-C stops.',
    ]);
  }

  await runSimConsole((line) => runSimHostCommand(sim, line), opts);
  await sim.stop();
  if (!opts.json) printLines(['acquirer host simulator stopped']);
}

/** One exchange as a console line: `host| 0200 STAN 000042 TID CODPOS01 -> 55 (refused: ...)`. */
function describeExchange(exchange: SimExchange): string {
  const notes: string[] = [];
  if (exchange.delayMs) notes.push(`after ${exchange.delayMs} ms`);
  if (exchange.approvedAmount !== undefined)
    notes.push(`approved ${exchange.approvedAmount} of ${exchange.amount ?? '?'}`);
  if (exchange.withheldAnswer) notes.push(`the issuer said ${exchange.withheldAnswer}`);
  if (exchange.fault) notes.push(`fault ${exchange.fault}`);
  if (exchange.completion) notes.push('completion');
  if (exchange.refusal) notes.push(`refused: ${exchange.refusal}`);
  return `host| ${exchange.mti} STAN ${exchange.stan ?? '-'} TID ${exchange.terminalId ?? '-'} -> ${exchange.answer}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}
