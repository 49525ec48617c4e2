/**
 * `codpos sim psp [--listen host:port] [--secret-file F | --ecdsa-key F --terminal-public-key F]
 * [--merchant M] [--terminal T] [--tls-cert F --tls-key F] [--seed N] [--json]`: the payment
 * service provider simulator for QR payments (runtime/psp/simulator.ts, docs/psp.md) as its own
 * process. Prints its URL, then one line per request and notification, and reads console
 * commands (help lists them) from stdin until SIGINT/SIGTERM. Point a daemon at it with psp.url.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import type { PspSimEvent, PspSimulator } from '../../../runtime/psp/simulator.js';
import { groupCommand } from '../groups.js';
import { runSimConsole } from '../sim-console.js';
import { action, printJson, printLines } from '../output.js';

export const order = 63;

interface SimPspOptions {
  listen?: string;
  secretFile?: string;
  ecdsaKey?: string;
  terminalPublicKey?: string;
  merchant?: string;
  terminal?: string;
  tlsCert?: string;
  tlsKey?: string;
  seed?: string;
  json?: boolean;
}

export const SIM_PSP_HELP = [
  'orders                          the orders it holds (JSON)',
  'scan PAYLOAD [pay|decline|ignore]  the wallet scans the MPM payload the terminal shows (default pay)',
  'pay ORDERREF | decline ORDERREF the wallet pays or declines an order found by its reference',
  'code [token|cpm] [pay|decline|ignore]  a consumer code for the terminal scanner: a wallet token or an EMV CPM payload (default token, pay)',
  'next BEHAVIOUR                  the next order behaves so: approve, decline, slow MS, lose-notification,',
  '                                late-status N, pay-after-give-up answer|no-answer, unavailable 503|drop',
  'amount MINOR BEHAVIOUR|clear    every order of that amount behaves so (or no longer)',
  'rules                           the behaviours set (JSON)',
  'notifications                   the notifications sent and how they were answered (JSON)',
].join('\n');

function usage(option: string, message: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `${option}: ${message}`, { details: { option } });
}

export function register(program: Command): void {
  const group = groupCommand(
    program,
    'sim',
    'run simulators (devices, acquirer host, back-end, PSP) for a box-less setup',
  );
  group
    .command('psp')
    .description(
      'start the QR payment service provider simulator (signed JSON API, a wallet, behaviours) and print its URL; then read commands (help) from stdin',
    )
    .option('--listen <host:port>', 'address to listen on, port 0 for any free port (default 127.0.0.1:0)')
    .option('--secret-file <file>', 'HMAC-SHA256: the file holding the secret shared with the terminal')
    .option('--ecdsa-key <file>', "ECDSA P-256: the simulator's private key (PEM), signs answers and notifications")
    .option('--terminal-public-key <file>', "ECDSA P-256: the terminal's public key (PEM), checks its requests")
    .option('--merchant <id>', 'the merchant id it knows (default SIMMERCHANT)')
    .option('--terminal <id>', 'the terminal id it knows (default CODPOS01)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM), with --tls-key')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--seed <n>', 'seed of its draws (wallet tokens), 0 to 4294967295 (default 1)')
    .option('--json', 'machine-readable output: one JSON object per line')
    .action(action(async (opts: SimPspOptions) => runSimPsp(opts)));
}

function readOptionFile(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw usage(option, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function parseListen(text: string | undefined): { host: string; port: number } {
  if (text === undefined) return { host: '127.0.0.1', port: 0 };
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (!match || Number(match[3]) > 65535) throw usage('--listen', `${text}: expected host:port (port 0 to 65535)`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

async function runSimPsp(opts: SimPspOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module.
  const { PspSimulator } = await import('../../../runtime/psp/simulator.js');
  const { ecdsaSigner, hmacSigner } = await import('../../../runtime/psp/signing.js');
  // Options first: a mistake is reported before any port is taken.
  const listen = parseListen(opts.listen);
  const ecdsa = opts.ecdsaKey !== undefined || opts.terminalPublicKey !== undefined;
  if (ecdsa === (opts.secretFile !== undefined))
    throw usage(
      '--secret-file',
      'give either --secret-file (HMAC-SHA256) or --ecdsa-key with --terminal-public-key (ECDSA P-256)',
    );
  if (ecdsa && (opts.ecdsaKey === undefined || opts.terminalPublicKey === undefined))
    throw usage('--ecdsa-key', '--ecdsa-key and --terminal-public-key go together');
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined))
    throw usage('--tls-cert', '--tls-cert and --tls-key go together');
  if (opts.seed !== undefined && (!/^[0-9]{1,10}$/.test(opts.seed) || Number(opts.seed) > 0xffffffff))
    throw usage('--seed', `${opts.seed}: expected a whole number from 0 to 4294967295`);
  let signer;
  try {
    signer = ecdsa
      ? ecdsaSigner(
          readOptionFile('--ecdsa-key', opts.ecdsaKey!).toString('utf8'),
          readOptionFile('--terminal-public-key', opts.terminalPublicKey!).toString('utf8'),
        )
      : hmacSigner(Buffer.from(readOptionFile('--secret-file', opts.secretFile!).toString('utf8').trim()));
  } catch (error) {
    if (error instanceof PosError) throw error;
    throw usage(ecdsa ? '--ecdsa-key' : '--secret-file', (error as Error).message);
  }
  const say = (event: PspSimEvent) => {
    if (opts.json) printJson({ event: event.kind, ...event });
    else printLines([describeEvent(event)]);
  };
  const sim = new PspSimulator({
    merchantId: opts.merchant ?? 'SIMMERCHANT',
    terminalId: opts.terminal ?? 'CODPOS01',
    signer,
    host: listen.host,
    port: listen.port,
    ...(opts.tlsCert !== undefined
      ? { tls: { cert: readOptionFile('--tls-cert', opts.tlsCert), key: readOptionFile('--tls-key', opts.tlsKey!) } }
      : {}),
    seed: opts.seed === undefined ? 1 : Number(opts.seed),
    onEvent: say,
  });
  let listening;
  try {
    listening = await sim.start();
  } catch (error) {
    throw usage(
      '--listen',
      `cannot listen on ${listen.host}:${listen.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const scheme = signer.scheme;
  const merchantId = opts.merchant ?? 'SIMMERCHANT';
  const terminalId = opts.terminal ?? 'CODPOS01';
  if (opts.json) printJson({ url: listening.url, port: listening.port, scheme, merchantId, terminalId });
  else
    printLines([
      `codpos PSP simulator listening on ${listening.url} (${scheme}, merchant ${merchantId}, terminal ${terminalId})`,
      `Configure a daemon with psp.url "${listening.url}".`,
      'Type commands (help lists them); Ctrl-C stops.',
    ]);
  await runSimConsole((line) => runSimPspCommand(sim, line), opts);
  await sim.stop();
  if (!opts.json) printLines(['PSP simulator stopped']);
}

function describeEvent(event: PspSimEvent): string {
  switch (event.kind) {
    case 'request':
      return `psp| ${event.method} ${event.path} -> ${event.status}${event.error ? ` (${event.error})` : ''}`;
    case 'notification':
      return `psp| notified ${event.orderRef} ${event.status} -> ${event.delivered}`;
    case 'wallet':
      return `psp| wallet ${event.orderRef ?? '-'}: ${event.outcome}${event.reason ? ` (${event.reason})` : ''}`;
  }
}

const CHOICES = new Set(['pay', 'decline', 'ignore']);

function choiceOf(word: string | undefined): 'pay' | 'decline' | 'ignore' {
  if (word === undefined) return 'pay';
  if (!CHOICES.has(word)) throw usage('choice', `${word}: expected pay, decline or ignore`);
  return word as 'pay' | 'decline' | 'ignore';
}

/** One console command (SIM_PSP_HELP); returns what to print. */
export async function runSimPspCommand(sim: PspSimulator, line: string): Promise<string | undefined> {
  const { parseBehaviour, describeBehaviour } = await import('../../../runtime/psp/sim-rules.js');
  const [command, ...args] = line.trim().split(/\s+/);
  switch (command) {
    case undefined:
    case '':
      return undefined;
    case 'help':
      return SIM_PSP_HELP;
    case 'orders':
      return JSON.stringify(sim.book.list().map((entry) => entry.order));
    case 'rules':
      return JSON.stringify(sim.rules.describe());
    case 'notifications':
      return JSON.stringify(sim.notifications);
    case 'scan': {
      if (args.length < 1 || args.length > 2) throw usage('scan', 'expected scan PAYLOAD [pay|decline|ignore]');
      return JSON.stringify(sim.wallet.scan(args[0]!, { outcome: choiceOf(args[1]) }));
    }
    case 'pay':
    case 'decline': {
      if (args.length !== 1) throw usage(command, `expected ${command} ORDERREF`);
      return JSON.stringify(sim.wallet.payOrder(args[0]!, { outcome: command }));
    }
    case 'code': {
      const words = [...args];
      if (words[0] === 'token' || words[0] === 'cpm') words.shift();
      const kind = args[0] === 'cpm' ? 'cpm' : 'token';
      if (words.length > 1) throw usage('code', 'expected code [token|cpm] [pay|decline|ignore]');
      try {
        return sim.wallet.consumerCode({ kind, outcome: choiceOf(words[0]) });
      } catch (error) {
        if (error instanceof PosError) throw error;
        throw usage('code', (error as Error).message);
      }
    }
    case 'next': {
      const behaviour = parseBehaviour(args);
      sim.rules.setNext(behaviour);
      return `the next order: ${describeBehaviour(behaviour)}`;
    }
    case 'amount': {
      const [amount, ...rest] = args;
      if (amount === undefined || !/^[1-9][0-9]{0,11}$/.test(amount))
        throw usage('amount', 'expected amount MINOR BEHAVIOUR|clear');
      if (rest.length === 1 && rest[0] === 'clear') {
        sim.rules.setForAmount(Number(amount), undefined);
        return `orders of ${amount}: approve`;
      }
      const behaviour = parseBehaviour(rest);
      sim.rules.setForAmount(Number(amount), behaviour);
      return `orders of ${amount}: ${describeBehaviour(behaviour)}`;
    }
    default:
      throw usage('command', `${command}: unknown (help lists the commands)`);
  }
}
