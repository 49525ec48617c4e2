/**
 * A QR payment service on a temporary spool, talking over TCP to the real PSP simulator (the
 * party at the other end: its wallet scans the code the terminal built), with the events it
 * published and the lines it logged kept for the test.
 */
import type { Test } from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateConfig } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { EventBus, type DaemonEvent } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { QrPaymentService } from '../../../runtime/payment/qr-service.js';
import { terminalMpmPayload } from '../../../runtime/payment/qr-mpm.js';
import { HttpPspClient } from '../../../runtime/psp/client.js';
import { hmacSigner } from '../../../runtime/psp/signing.js';
import { PspSimulator } from '../../../runtime/psp/simulator.js';
import type { Spool } from '../../../spool/index.js';
import { openSpool, until } from '../host/fixtures.js';

export const QR_SECRET = Buffer.from('the terminal and the PSP simulator share this');
export const QR_MERCHANT = 'M-QR-1';
export const QR_TERMINAL = 'CODPOS01';
/** Waybills with their S10 check digits. */
export const WAYBILLS = ['RR123456785CH', 'RR000000005CH', 'EE123456785DE', 'CP000000005US'] as const;

export function qrConfig(
  overrides: { waitMs?: number; queryIntervalMs?: number; resolverMs?: number; notifyUrl?: string } = {},
): Config {
  return validateConfig({
    terminal: { id: QR_TERMINAL, currency: '978', merchantName: 'CODPOS TEST COURIER' },
    qr: {
      merchant: {
        name: 'CODPOS TEST COURIER',
        city: 'ZURICH',
        country: 'CH',
        accounts: [{ id: '26', globallyUniqueIdentifier: 'org.codpos.simwallet', fields: { '01': 'M-QR-1' } }],
      },
      waitMs: overrides.waitMs ?? 60_000,
      queryIntervalMs: overrides.queryIntervalMs ?? 25,
      resolver: { initialMs: overrides.resolverMs ?? 20, maxMs: Math.max(200, overrides.resolverMs ?? 0) },
      ...(overrides.notifyUrl !== undefined ? { notifyUrl: overrides.notifyUrl } : {}),
    },
  });
}

export async function startPspSim(t: Test): Promise<{ sim: PspSimulator; url: string }> {
  const sim = new PspSimulator({
    merchantId: QR_MERCHANT,
    terminalId: QR_TERMINAL,
    signer: hmacSigner(QR_SECRET),
    seed: 16,
  });
  const { url } = await sim.start();
  t.teardown(() => sim.stop());
  return { sim, url };
}

export function pspClient(t: Test, url: string): HttpPspClient {
  const client = new HttpPspClient({
    url,
    merchantId: QR_MERCHANT,
    terminalId: QR_TERMINAL,
    signer: hmacSigner(QR_SECRET),
    timeoutMs: 5000,
  });
  t.teardown(() => client.close());
  return client;
}

export interface QrHarness {
  service: QrPaymentService;
  sim: PspSimulator;
  client: HttpPspClient;
  spool: Spool;
  config: Config;
  events: DaemonEvent[];
  logLines: string[];
  /** Resolves when the row reaches one of `states`. */
  reaches(id: string, ...states: string[]): Promise<void>;
}

/**
 * The service against a fresh simulator. `notifications`: the PSP posts to a local HTTP
 * listener that hands the request to service.notify, as the daemon's API route does.
 */
export async function qrHarness(
  t: Test,
  options: {
    waitMs?: number;
    queryIntervalMs?: number;
    resolverMs?: number;
    notifications?: boolean;
    spool?: Spool;
    /** Whether a waybill's delivery is recorded (the workflow's answer in the daemon). */
    deliveryRecorded?: (waybill: string) => boolean;
    /** The params service's hook (a payment starts; the function returned, it ends). */
    paymentStarted?: () => () => void;
  } = {},
): Promise<QrHarness> {
  const { sim, url } = await startPspSim(t);
  const client = pspClient(t, url);
  const spool = options.spool ?? (await openSpool(t));
  let notifyUrl: string | undefined;
  // The listener starts before the service exists (the service needs its URL).
  const notified: { service?: QrPaymentService } = {};
  if (options.notifications) {
    const listener: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          notified.service!.notify(req.headers, Buffer.concat(chunks));
          res.writeHead(200).end('{}');
        } catch {
          res.writeHead(401).end('{}');
        }
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => listener.close(() => resolve())));
    notifyUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/v1/psp/notifications`;
  }
  const config = qrConfig({
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    ...(options.queryIntervalMs !== undefined ? { queryIntervalMs: options.queryIntervalMs } : {}),
    ...(options.resolverMs !== undefined ? { resolverMs: options.resolverMs } : {}),
  });
  const bus = new EventBus(1000);
  const events: DaemonEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  const service = new QrPaymentService(config, log, {
    spool: () => spool,
    psp: () => client,
    events: bus,
    mpmPayload: (txn) => terminalMpmPayload({ terminal: config.terminal, qr: config.qr! }, txn),
    ...(notifyUrl !== undefined ? { notifyUrl } : {}),
    ...(options.deliveryRecorded ? { deliveryRecorded: options.deliveryRecorded } : {}),
    ...(options.paymentStarted ? { paymentStarted: options.paymentStarted } : {}),
  });
  notified.service = service;
  await service.start();
  t.teardown(() => service.stop());
  return {
    service,
    sim,
    client,
    spool,
    config,
    events,
    logLines,
    reaches: (id, ...states) =>
      until(
        () => states.includes(spool.qrJournal.get(id)?.state ?? ''),
        `QR payment ${id} to be ${states.join(' or ')}`,
      ),
  };
}

/** The `payment.qr` events of one payment, their states in order. */
export function qrStates(events: readonly DaemonEvent[], id: string): string[] {
  return events.filter((event) => event.type === 'payment.qr' && event.data.id === id).map((e) => String(e.data.state));
}
