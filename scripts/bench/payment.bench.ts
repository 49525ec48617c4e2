/**
 * `npm run bench -- payment`: chip payments end to end on the sim-pay stack (runtime/payment/sim-pay.ts):
 * a virtual card through the card reader simulator and driver, online PIN from the PIN pad
 * simulator (DUKPT), the EMV kernel with DDA, a 0200 over TCP to the acquirer simulator (which
 * decrypts the PIN block and verifies the ARQC), the ARPC back to the card, and the journal
 * commits (synchronous=FULL). No peer: the figure is the terminal's own share of a payment's
 * time, which a courier waits through on top of the network and the customer.
 *
 * Beside it, a tap on the same stack: a virtual contactless card (Visa-style) in the
 * reader simulator's field, Entry Point and its kernel, the 0200 with DE22 071 and the kernel's
 * ARQC (verified by the acquirer simulator), no PIN (under the CVM limit); and the chip
 * payment through a real daemon (`codposd --sim`, daemon-process.ts) as the
 * screen app asks for it over the local API: what the daemon's services, its API and the receipt
 * add to the sim-pay stack's figure.
 */
import { validateConfig } from '../../config/load.js';
import { VirtualCard, loadCardProfile } from '../../emv/card/index.js';
import { openSimPayStack, simPayTerminal } from '../../runtime/payment/sim-pay.js';
import { payByChip } from '../../runtime/payment/card-payment.js';
import { payByTap } from '../../runtime/payment/tap-payment.js';
import { contactlessEntryPoint } from '../../runtime/payment/contactless-reader.js';
import { kernelTerminal } from '../../runtime/payment/terminal.js';
import { virtualContactlessCard } from '../../emv/card/contactless-cards.js';
import { median, type BenchOptions, type BenchResult } from './harness.js';
import { customerTypesPin, payByChipThroughApi, startBenchDaemon } from './daemon-process.js';

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const lab = await onTheLabStack(options);
  const tap = await tapOnTheLabStack(options);
  const daemon = await throughTheDaemon(options);
  return [...lab, ...tap, daemon];
}

/**
 * CPU time per payment: user + system time of this process over the rounds, divided by the
 * payments. The process holds the terminal side and the simulators it talks to (the reader, the
 * PIN pad, the acquirer), so this is the whole exchange's CPU, an upper bound of the terminal's.
 */
function cpuRow(bench: string, rounds: Rounds, note: string): BenchResult {
  return { bench, unit: 'ms', value: median(rounds.cpuMs), note };
}

async function onTheLabStack(options: BenchOptions): Promise<BenchResult[]> {
  const config = validateConfig({});
  const lab = await openSimPayStack(config, '1234');
  try {
    const terminal = simPayTerminal(config);
    const pay = async () => {
      await lab.devices.readerSim.insert(new VirtualCard(loadCardProfile('visa-dda')));
      const result = await payByChip(
        {
          card: lab.devices.cardReader,
          pinpad: lab.devices.pinpad,
          client: lab.client,
          journal: lab.spool.journal,
          terminal,
          currency: '840',
        },
        { amount: 2500 },
      );
      if (result.outcome !== 'approved')
        throw new Error(`payment bench: the payment was ${result.outcome}: ${result.reason}`);
      await lab.devices.readerSim.remove();
    };
    await pay(); // warm-up: the JIT, the TCP connection, the first commits
    const rounds = await timedRounds(options, pay);
    return [
      {
        bench: 'payment.chip_online_pin',
        unit: 'ms',
        value: median(rounds.wallMs),
        note: 'per payment: card, PIN pad, kernel (DDA), 0200/0210 over TCP, journal',
      },
      cpuRow('payment.chip_online_pin_cpu', rounds, 'CPU per chip payment (terminal and simulators, one process)'),
    ];
  } finally {
    await lab.close();
  }
}

async function tapOnTheLabStack(options: BenchOptions): Promise<BenchResult[]> {
  const config = validateConfig({});
  const lab = await openSimPayStack(config, '1234');
  try {
    // One Entry Point for every tap, as a daemon keeps one (its C-2 kernel holds the torn log).
    const entryPoint = contactlessEntryPoint(config, kernelTerminal(config))!;
    const pay = async () => {
      await lab.devices.readerSim.tap(virtualContactlessCard('cl-visa-fdda'));
      const result = await payByTap(
        {
          field: lab.devices.cardReader,
          entryPoint,
          pinpad: lab.devices.pinpad,
          client: lab.client,
          journal: lab.spool.journal,
          currency: '840',
          waitMs: 10_000,
          pollTimeoutMs: config.emv.contactless.pollTimeoutMs,
          maxTryAgain: 0,
        },
        { amount: 2500 },
      );
      if (result.outcome !== 'approved' || result.entry !== 'contactless')
        throw new Error(`payment bench: the tap was ${result.outcome}: ${result.reason}`);
      await lab.devices.readerSim.removeFromField();
    };
    await pay(); // warm-up, as for the chip
    const rounds = await timedRounds(options, pay);
    return [
      {
        bench: 'payment.contactless_online',
        unit: 'ms',
        value: median(rounds.wallMs),
        note: 'per payment: tap, Entry Point and kernel C-3 (ARQC: the default floor limit is 0), 0200/0210 (DE22 071) over TCP, journal',
      },
      cpuRow('payment.contactless_online_cpu', rounds, 'CPU per tap payment (terminal and simulators, one process)'),
    ];
  } finally {
    await lab.close();
  }
}

async function throughTheDaemon(options: BenchOptions): Promise<BenchResult> {
  const daemon = await startBenchDaemon({ exposeGc: false });
  try {
    await customerTypesPin(daemon.api);
    await payByChipThroughApi(daemon.api); // warm-up: the daemon's JIT, the acquirer link, the first commits
    const rounds = await timedRounds(options, () => payByChipThroughApi(daemon.api));
    return {
      bench: 'payment.chip_online_pin_daemon',
      unit: 'ms',
      value: median(rounds.wallMs),
      note: 'the same through codposd --sim over its API: card in, POST /v1/payments/card (receipt printed), card out',
    };
  } finally {
    await daemon.stop();
  }
}

interface Rounds {
  /** Wall-clock ms per payment, one figure per round. */
  wallMs: number[];
  /** This process's CPU ms (user + system) per payment, one figure per round. */
  cpuMs: number[];
}

/** Per-payment time of each round: as many payments as fit in `roundMs`, at least one. */
async function timedRounds(options: BenchOptions, pay: () => Promise<void>): Promise<Rounds> {
  const rounds: Rounds = { wallMs: [], cpuMs: [] };
  for (let round = 0; round < options.rounds; round++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    let payments = 0;
    do {
      await pay();
      payments++;
    } while (performance.now() - started < options.roundMs);
    const cpu = process.cpuUsage(cpuStarted);
    rounds.wallMs.push((performance.now() - started) / payments);
    rounds.cpuMs.push((cpu.user + cpu.system) / 1000 / payments);
  }
  return rounds;
}
