/** A real acquirer simulator and a real host link on 127.0.0.1, and a log that can be read back. */
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import type { Config, ConfigInput } from '../../../config/schema.js';
import { createLogger, type Logger } from '../../../runtime/log.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { HostChannel, channelOptionsFromConfig, hostFraming } from '../../../runtime/host/channel.js';
import { HostMux, type MuxOptions } from '../../../runtime/host/mux.js';
import { AcquirerHostSimulator, type AcquirerSimulatorOptions, type SimRule } from '../../../runtime/host/simulator.js';
import {
  IsoStreamFramer,
  buildResponse,
  decodeIso8583,
  encodeIso8583,
  frameMessage,
  replyTpdu,
  type Dialect,
  type FramingOptions,
  type Frame,
  type IsoFields,
  type IsoMessage,
} from '../../../emv/iso8583/index.js';
import { FileKeyProvider, Spool, Vault } from '../../../spool/index.js';
import type { TerminalConfig } from '../../../emv/kernel/index.js';
import { simPayTerminal } from '../../../runtime/payment/sim-pay.js';
import { messageOfRecord, type QueuedMessage } from '../../../runtime/host/held-reversals.js';

export const TERMINAL = {
  terminalId: 'COD00001',
  merchantId: 'CODPOS-MERCHAN',
  currency: '840',
  clock: () => new Date('2026-11-29T10:15:00Z'),
};

/** The EMV kernel's terminal for chip tests: the lab's (Visa and Mastercard test AIDs, floor limit 0, the test CA keys). */
export const TEST_TERMINAL: TerminalConfig = {
  ...simPayTerminal(hostConfig()),
  terminalId: TERMINAL.terminalId,
  merchantId: 'CODPOS-MERCHANT',
};

export function capturedLog(): { lines: Array<Record<string, unknown>>; text: () => string; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, text: () => raw.join(''), log: createLogger({ destination: sink, level: 'debug' }) };
}

export function hostConfig(input: ConfigInput = {}): Config {
  return validateConfig(input);
}

export interface Link {
  config: Config;
  dialect: Dialect;
  framing: FramingOptions;
  sim: AcquirerHostSimulator;
  channel: HostChannel;
  mux: HostMux;
  log: ReturnType<typeof capturedLog>;
  close(): Promise<void>;
}

/**
 * How long a test waits for an answer the simulator will give. CI runs on a loaded 2-core
 * machine whose event loop can stall for a moment; a short time-out there would turn an
 * answer that is on its way into a time-out (and a reversal the test did not script).
 */
export const PATIENT_MS = 10_000;

/**
 * A mux that keeps a test's short time-out only for a request the simulator's rules will
 * leave unanswered (silent, or late past the time-out): that time-out is what the test is
 * about. Every request the simulator will answer waits at least PATIENT_MS.
 */
export class PatientMux extends HostMux {
  constructor(
    channel: HostChannel,
    options: MuxOptions,
    private readonly sim: AcquirerHostSimulator,
  ) {
    super(channel, options);
  }

  override request(request: IsoMessage, timeoutMs: number): Promise<IsoMessage> {
    const rule = this.sim.ruleMatching(request);
    const unanswered = rule?.action === 'silent' || (rule?.action === 'late' && (rule.delayMs ?? 1000) >= timeoutMs);
    return super.request(request, unanswered || !(timeoutMs > 0) ? timeoutMs : Math.max(timeoutMs, PATIENT_MS));
  }
}

/** The simulator and a connected channel + mux speaking the configured framing. */
export async function startLink(
  options: {
    config?: ConfigInput;
    rules?: SimRule[];
    bounds?: Pick<AcquirerSimulatorOptions, 'maxExchanges' | 'maxBooked'>;
  } = {},
): Promise<Link> {
  const config = hostConfig(options.config);
  const dialect = hostDialect(config.host);
  const framing = hostFraming(config.host);
  const log = capturedLog();
  const sim = new AcquirerHostSimulator({
    dialect,
    framing,
    pinBdk: config.devices.pinpad.sim.bdk,
    pinDukpt: config.devices.pinpad.dukpt,
    rules: options.rules ?? [],
    log: log.log,
    ...options.bounds,
  });
  const { port } = await sim.start();
  const channel = new HostChannel(
    channelOptionsFromConfig({ ...config.host, port }, { log: log.log, reconnect: { initialMs: 20, maxMs: 200 } }),
  );
  const mux = new PatientMux(channel, { dialect, log: log.log }, sim);
  await channel.open();
  return {
    config,
    dialect,
    framing,
    sim,
    channel,
    mux,
    log,
    async close() {
      mux.detach();
      await channel.close();
      await sim.stop();
    },
  };
}

/**
 * A bare TCP acquirer for what the simulator will not do (answer the wrong STAN, split a
 * frame at a chosen byte, send a bad TPDU): `answer` gets each decoded request and its frame.
 */
export async function rawAcquirer(
  framing: FramingOptions,
  dialect: Dialect,
  answer: (request: IsoMessage, frame: Frame, socket: Socket) => void,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const framer = new IsoStreamFramer(framing);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) answer(decodeIso8583(frame.message, dialect), frame, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A bare acquirer answering each request at once with `buildResponse(request, fieldsFor(request))`
 * (in the configured framing, TPDU swapped), and a connected mux to it; all closed at teardown.
 * `seen` lists the requests in the order they came.
 */
export async function answeringLink(
  t: Test,
  fieldsFor: (request: IsoMessage) => IsoFields,
): Promise<{ config: Config; mux: HostMux; seen: IsoMessage[] }> {
  const config = hostConfig();
  const dialect = hostDialect(config.host);
  const framing = hostFraming(config.host);
  const seen: IsoMessage[] = [];
  const acquirer = await rawAcquirer(framing, dialect, (request, frame, socket) => {
    seen.push(request);
    const response = encodeIso8583(buildResponse(request, fieldsFor(request)), dialect);
    socket.write(frameMessage(response, framing, frame.tpdu ? { tpdu: replyTpdu(frame.tpdu) } : {}));
  });
  const channel = new HostChannel(channelOptionsFromConfig({ ...config.host, port: acquirer.port }));
  const mux = new HostMux(channel, { dialect });
  t.teardown(async () => {
    mux.detach();
    await channel.close();
    await acquirer.close();
  });
  await channel.open();
  return { config, mux, seen };
}

/** A spool file in a fresh directory with its vault key, opened; closed and removed at teardown. */
export async function openSpool(t: Test, policies: Parameters<typeof tempSpool>[0] = {}): Promise<Spool> {
  const store = await tempSpool(policies);
  const spool = await store.open();
  t.teardown(() => {
    spool.close();
    store.remove();
  });
  return spool;
}

/** A spool file in a fresh directory, with a vault key beside it; `reopen` opens the same file again. */
export async function tempSpool(
  policies: Record<string, { backoff?: { initialMs: number; maxMs: number; factor: number; jitter: number } }> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-host-'));
  const file = join(dir, 'spool.db');
  const open = async () =>
    Spool.open({ file, vault: await Vault.fromProvider(new FileKeyProvider(join(dir, 'keys', 'data.key'))), policies });
  return { dir, file, open, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits for `condition`, polling each event-loop turn (no clock in the assertion). */
export async function until(condition: () => boolean, what: string, limitMs = PATIENT_MS): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The first message queued on `stream` as it will leave, its sealed card data opened: leased to
 * read it (before the background sender does), then released (release gives the attempt back).
 */
export function firstQueued(spool: Spool, stream: string): IsoMessage {
  const [record] = spool.outbox.lease<QueuedMessage>(stream, { limit: 1, owner: 'test', ignoreBackoff: true });
  if (record === undefined) throw new Error(`nothing queued on ${stream}`);
  spool.outbox.release(record.id);
  return messageOfRecord(record);
}
