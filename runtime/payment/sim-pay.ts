/**
 * A whole card payment on simulated parts, for `codpos sim pay`: a virtual card in the card
 * reader simulator (its chip, or its stripe through the MSR, or a virtual contactless card
 * tapped into its field: Entry Point with both kernels, payByTap), the PIN pad simulator whose
 * customer types the given PIN, the acquirer host simulator on 127.0.0.1 speaking the
 * configured framing and dialect, a spool in a temporary directory (the box's own journal is
 * never touched), and the printer simulator for the receipt. Every part is the real driver
 * and protocol; only the devices and the acquirer are simulated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Config } from '../../config/schema.js';
import { VirtualCard, loadCardProfile } from '../../emv/card/index.js';
import type { TerminalConfig } from '../../emv/kernel/index.js';
import { kernelTerminal } from './terminal.js';
import { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import { CardReaderSim } from '../../drivers/card-reader/sim.js';
import { PinpadDriver } from '../../drivers/pinpad/driver.js';
import { PinpadSim } from '../../drivers/pinpad/sim.js';
import { PrinterDriver } from '../../drivers/printer/driver.js';
import { PrinterSim } from '../../drivers/printer/sim.js';
import { printerProfile } from '../../drivers/printer/profiles.js';
import { memoryPair } from '../../drivers/transport/memory.js';
import { FileKeyProvider, Spool, Vault } from '../../spool/index.js';
import { hostDialect } from '../host/dialect.js';
import { HostChannel, channelOptionsFromConfig, hostFraming } from '../host/channel.js';
import { HostMux } from '../host/mux.js';
import { HostClient } from '../host/client.js';
import { messageContextOf } from '../host/service.js';
import { AcquirerHostSimulator, type SimExchange } from '../host/simulator.js';
import { payByChip, type CardPaymentResult } from './card-payment.js';
import { payBySwipe, type Swipe } from './swipe-payment.js';
import { payByTap } from './tap-payment.js';
import { contactlessEntryPoint } from './contactless-reader.js';
import { virtualContactlessCard } from '../../emv/card/contactless-cards.js';
import { PosError } from '../../config/errors.js';
import { buildPaymentReceipt } from './receipt.js';

/** The kernel's terminal for a simulated payment: the configured one (emv.*), with its AIDs' floor limit set. */
export function simPayTerminal(config: Pick<Config, 'terminal' | 'emv' | 'data'>, floorLimit = 0): TerminalConfig {
  const terminal = kernelTerminal(config);
  return { ...terminal, applications: terminal.applications.map((app) => ({ ...app, floorLimit })) };
}

export interface SimPaymentDevices {
  cardReader: CardReaderDriver;
  readerSim: CardReaderSim;
  pinpad: PinpadDriver;
  padSim: PinpadSim;
  /** How many times the PIN pad asked for a PIN. */
  prompts: () => number;
  close(): Promise<void>;
}

/**
 * The card reader and the PIN pad as a payment sees them: each simulator behind its real
 * driver and ACK/NAK link, over an in-memory transport. The PIN pad's customer types `pin`
 * when asked (`cancel`: presses CANCEL). Insert or swipe cards with `readerSim`.
 */
export async function openSimPaymentDevices(
  config: Pick<Config, 'devices'>,
  pin: string | 'cancel',
): Promise<SimPaymentDevices> {
  const reader = memoryPair('card reader');
  const readerSim = new CardReaderSim(reader.device);
  const cardReader = new CardReaderDriver(reader.host);
  await readerSim.start();
  await cardReader.start();
  const pad = memoryPair('pinpad');
  const padSim = new PinpadSim(pad.device, { bdk: config.devices.pinpad.sim.bdk, ksn: config.devices.pinpad.sim.ksn });
  const pinpad = new PinpadDriver(pad.host);
  await padSim.start();
  await pinpad.start();
  let prompts = 0;
  padSim.on('prompt', () => {
    prompts++;
    if (pin === 'cancel') padSim.cancelKey();
    else padSim.enterPin(pin);
  });
  return {
    cardReader,
    readerSim,
    pinpad,
    padSim,
    prompts: () => prompts,
    async close() {
      await cardReader.stop();
      await readerSim.stop();
      await pinpad.stop();
      await padSim.stop();
    },
  };
}

export interface SimPayOptions {
  config: Config;
  /** A virtual card profile (emv/card/profiles); with `tap`, a contactless one (emv/card/contactless-profiles). */
  card: string;
  /** Minor units. */
  amount: number;
  waybill?: string;
  /** What the customer types on the PIN pad; `cancel` presses CANCEL. */
  pin: string | 'cancel';
  /** Swipe the card's stripe instead of inserting its chip. */
  swipe?: boolean;
  /** Tap the (contactless) card on the reader's field instead of inserting a chip. */
  tap?: boolean;
  /** With `swipe`: the chip of this card failed just before (a fallback swipe). */
  chipFailed?: boolean;
  /** Kernel floor limit for the configured AIDs (minor units); 0 sends every chip payment online. */
  floorLimit?: number;
  onExchange?: (exchange: SimExchange) => void;
}

export interface SimPayRun {
  result: CardPaymentResult;
  /** The receipt as the printer simulator printed it; empty when nothing was journaled (no receipt is due). */
  receipt: string[];
  exchanges: SimExchange[];
}

/** The acquirer simulator, the host link and a temporary spool, as `codpos sim pay` uses them. */
export interface SimPayStack {
  sim: AcquirerHostSimulator;
  client: HostClient;
  spool: Spool;
  devices: SimPaymentDevices;
  close(): Promise<void>;
}

/**
 * Starts the simulated payment's parts: the acquirer host simulator on 127.0.0.1 (the configured framing and
 * dialect), the host link to it, a spool in a temporary directory, and the simulated card reader
 * and PIN pad (whose customer types `pin`). `close` stops them all and removes the directory.
 */
export async function openSimPayStack(
  config: Config,
  pin: string | 'cancel',
  onExchange?: (exchange: SimExchange) => void,
): Promise<SimPayStack> {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-sim-pay-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  };
  try {
    const sim = new AcquirerHostSimulator({
      dialect: hostDialect(config.host),
      framing: hostFraming(config.host),
      port: 0,
      pinBdk: config.devices.pinpad.sim.bdk,
      pinDukpt: config.devices.pinpad.dukpt,
      ...(onExchange ? { onExchange } : {}),
    });
    const { port } = await sim.start();
    cleanups.unshift(() => sim.stop());
    const channel = new HostChannel(
      channelOptionsFromConfig({ ...config.host, mode: 'tcp', address: '127.0.0.1', port, tls: false }),
    );
    const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
    await channel.open();
    cleanups.unshift(async () => {
      mux.detach();
      await channel.close();
    });
    const spool = Spool.open({
      file: join(dir, 'spool.db'),
      vault: await Vault.fromProvider(new FileKeyProvider(join(dir, 'vault.key'))),
    });
    cleanups.unshift(() => spool.close());
    const client = new HostClient({
      mux,
      spool,
      context: messageContextOf(config, hostDialect(config.host)),
      responseTimeoutMs: config.host.responseTimeoutMs,
      reversalStan: config.host.reversalStan,
      partialApprovals: config.host.partialApprovals,
      tcDelivery: config.host.tcDelivery,
    });
    const devices = await openSimPaymentDevices(config, pin);
    cleanups.unshift(() => devices.close());
    return { sim, client, spool, devices, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runSimPay(options: SimPayOptions): Promise<SimPayRun> {
  const { config } = options;
  if (options.tap && !config.emv.contactless.enabled)
    throw new PosError('CODPOS_USAGE_BAD_OPTION', 'a tap needs emv.contactless.enabled: it is false in this config', {
      details: { option: '--tap' },
    });
  // Loaded (and its name checked) before any part starts; a tap's card is a contactless profile.
  const card = options.tap
    ? ({ kind: 'tap', card: virtualContactlessCard(options.card) } as const)
    : ({ kind: 'contact', card: new VirtualCard(loadCardProfile(options.card)) } as const);
  const stack = await openSimPayStack(config, options.pin, options.onExchange);
  const cleanups: Array<() => Promise<void> | void> = [() => stack.close()];
  try {
    const { sim, client, spool } = stack;
    const { cardReader, readerSim, pinpad } = stack.devices;

    const request = { amount: options.amount, ...(options.waybill !== undefined ? { waybill: options.waybill } : {}) };
    let result: CardPaymentResult;
    if (card.kind === 'tap') {
      await readerSim.tap(card.card);
      result = await payByTap(
        {
          field: cardReader,
          entryPoint: contactlessEntryPoint(config, kernelTerminal(config))!,
          pinpad,
          client,
          journal: spool.journal,
          currency: config.terminal.currency,
          waitMs: config.emv.cardWaitMs,
          pollTimeoutMs: config.emv.contactless.pollTimeoutMs,
          maxTryAgain: config.emv.contactless.maxTryAgain,
        },
        request,
      );
    } else if (options.swipe) {
      const swiped = once(cardReader, 'swipe') as Promise<[Swipe]>;
      await readerSim.swipe(card.card);
      const [tracks] = await swiped;
      result = await payBySwipe(
        { pinpad, client, journal: spool.journal, currency: config.terminal.currency },
        request,
        tracks,
        options.chipFailed ? { chipFailure: { reason: 'the chip failed (--chip-failed)' } } : {},
      );
    } else {
      await readerSim.insert(card.card);
      result = await payByChip(
        {
          card: cardReader,
          pinpad,
          client,
          journal: spool.journal,
          terminal: simPayTerminal(config, options.floorLimit),
          currency: config.terminal.currency,
        },
        request,
      );
    }

    if (result.journalId === undefined) return { result, receipt: [], exchanges: [...sim.received] };
    const printerLink = memoryPair('printer');
    const profileOfPrinter = printerProfile(config.devices.printer.profile);
    const printerSim = new PrinterSim(printerLink.device, { profile: profileOfPrinter });
    const printer = new PrinterDriver(printerLink.host, {
      statusPollMs: 20,
      codePage: config.devices.printer.codePage,
    });
    await printerSim.start();
    await printer.start();
    cleanups.unshift(async () => {
      await printer.stop();
      await printerSim.stop();
    });
    const transaction = spool.journal.get(result.journalId);
    await printer.print(
      buildPaymentReceipt({
        profile: profileOfPrinter,
        merchant: {
          name: config.terminal.merchantName,
          terminalId: config.terminal.id,
          merchantId: config.terminal.merchantId,
        },
        at: new Date(),
        amount: options.amount,
        currency: config.terminal.currency,
        ...(options.waybill !== undefined ? { waybill: options.waybill } : {}),
        payment: result,
        ...(transaction ? { transaction } : {}),
        copy: 'customer',
      }),
    );
    return { result, receipt: printerSim.pages.flat(), exchanges: [...sim.received] };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
