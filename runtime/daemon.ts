/**
 * The daemon's composition root: builds the services from the config in start
 * order and runs them until asked to stop.
 */
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from './log.js';
import { ServiceManager, type ServiceStage, type Health } from './service.js';
import { StorageMonitor } from './storage-monitor.js';
import { SpoolService } from '../spool/service.js';
import { DevicesService } from './devices-service.js';
import { HostService } from './host/service.js';
import { LocalApiService } from './api/server.js';
import { EventBus } from './api/events.js';
import { EventLogService } from './api/event-log.js';
import { SimControl } from './api/sim-control.js';
import { listContactlessProfiles } from '../emv/card/contactless-profiles.js';
import { virtualContactlessCard } from '../emv/card/contactless-cards.js';
import type { StatusSources } from './api/status-summary.js';
import { PaymentService } from './payment/service.js';
import { ParamsService } from './params/service.js';
import { uplinkStreams, UplinkService } from './uplink/service.js';
import type { ReloadTargets } from './config-reload.js';
import { DaemonMetrics } from './api/metrics-routes.js';
import { WorkflowService } from './workflow/service.js';
import { QrPaymentService } from './payment/qr-service.js';
import { QrPspLink } from './payment/qr-psp-link.js';
import { terminalMpmPayload } from './payment/qr-mpm.js';
import { orderRefOf } from './payment/qr-order-ref.js';
import { qrSlip } from './payment/qr-slip.js';
import { qrReceipt } from './payment/qr-receipt.js';
import type { QrTransaction } from '../spool/qr-transaction.js';
import { FleetService } from './fleet/service.js';
import { processDiagnostics } from './api/diagnostics-routes.js';

export interface Daemon {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Record<string, Health>;
  /**
   * One line for `systemctl status` (the unit's STATUS=), e.g. "ready; 3 records to send; host up;
   * devices: 4 online": what a technician at the box checks first.
   */
  statusLine(): string;
  /** The settings a SIGHUP reload applies while running, for runtime/config-reload.ts applyReload. */
  reloadTargets(): ReloadTargets;
}

/**
 * Services in start order: storage -> spool -> event numbering -> parameter package -> drivers, host
 * link and uplink (together: each needs only the spool) -> card and QR payments (together) ->
 * workflow -> the fleet link when configured -> local API.
 * `health` is every service's health, for the local API (the manager's, bound late).
 */
export function buildServices(
  config: Config,
  log: Logger,
  api: { events: EventBus; health: () => Record<string, Health>; version: string },
): ServiceStage[] {
  const spool = new SpoolService(config);
  const devices = new DevicesService(config.devices, log, {}, api.events);
  const host = new HostService(config, log, { spool: () => spool.spool });
  const uplink = new UplinkService(config, log, {
    spool: () => spool.spool,
    events: api.events,
    offerParams: (envelope) => params.offer(envelope, 'uplink'),
  });
  const params = new ParamsService(config, log, {
    spool: () => spool.spool,
    events: api.events,
    // With a fleet link, the reports are its to send (the uplink leaves stream params-report alone then).
    recordQueued: () => (fleet ? fleet.sendNow() : void uplink.sendNow().catch(() => undefined)),
  });
  const payments = new PaymentService(config, log, {
    devices: () => devices.devices,
    host: () => host.client,
    spool: () => spool.spool,
    events: api.events,
    recordQueued: () => void uplink.sendNow().catch(() => undefined),
    params: () => params,
  });
  const pspLink = new QrPspLink(config, log);
  const qr = new QrPaymentService(config, log, {
    spool: () => spool.spool,
    psp: () => pspLink.client,
    link: pspLink,
    events: api.events,
    recordQueued: () => void uplink.sendNow().catch(() => undefined),
    mpmPayload: (txn) => terminalMpmPayload({ terminal: config.terminal, qr: config.qr! }, txn),
    printSlip: (txn, payload) => printScanToPaySlip(config, devices, txn, payload),
    printReceipt: (txn, options) =>
      printQrReceipt(config, devices, txn, { ...options, header: params.receiptHeader() }),
    paymentStarted: () => params.paymentStarted(),
    deliveryRecorded: (waybill) =>
      spool.spool.waybillEvents
        .standings([waybill])
        .get(waybill)
        ?.some((event) => event.kind === 'delivery') === true,
    ...(config.psp?.notifications.enabled && config.qr?.notifyUrl !== undefined
      ? { notifyUrl: config.qr.notifyUrl }
      : {}),
  });
  const workflow = new WorkflowService(config, {
    spool: () => spool.spool,
    events: api.events,
    recordQueued: () => void uplink.sendNow().catch(() => undefined),
    downloadTasks: () => uplink.downloadTasks(),
    printer: () => devices.devices.printer?.driver,
  });
  const fleet = config.fleet?.enabled
    ? fleetService(config, log, api, { spool, devices, payments, workflow, params })
    : undefined;
  return [
    new StorageMonitor({ dir: resolve(config.data.dir) }, log),
    spool,
    new EventLogService(api.events, () => spool.spool),
    // Before the uplink: a package that comes with the task list at start finds it started.
    params,
    [devices, host, uplink],
    [payments, qr],
    workflow,
    ...(fleet ? [fleet] : []),
    new LocalApiService(config, log, {
      ...api,
      payments,
      qr,
      params,
      workflow,
      metrics: daemonMetrics(api, devices, spool, host, uplinkStreams(config)),
      statusSources: statusSources(config, devices, spool),
      sim: simControl(devices, uplink, host, pspLink),
    }),
  ];
}

/** The fleet link and what the terminal does with it (runtime/fleet/service.ts); its commands act on these services. */
function fleetService(
  config: Config,
  log: Logger,
  api: { events: EventBus; health: () => Record<string, Health>; version: string },
  services: {
    spool: SpoolService;
    devices: DevicesService;
    payments: PaymentService;
    workflow: WorkflowService;
    params: ParamsService;
  },
): FleetService {
  const { spool, devices, payments, workflow, params } = services;
  return new FleetService(config, log, {
    params,
    spool: () => spool.spool,
    events: api.events,
    health: api.health,
    deviceStates: () => devices.states(),
    version: api.version,
    commands: {
      setLogLevel: (level) => {
        const previous = log.level;
        log.level = level;
        // Said at warn, so the change is in the journal whatever the new level lets through.
        log.warn({ previous, logLevel: level }, 'log level set by a fleet command');
        return { previous };
      },
      diagnostics: (gc) => processDiagnostics(gc),
      reprint: (journalId) => payments.reprint(journalId),
      retryDead: (stream) => spool.spool.outbox.retryDead(stream),
      dayReport: (date) => workflow.report(date),
      paramsRollback: () => params.rollback('fleet'),
    },
  });
}

/** The simulators' controls (/v1/sim/*), with the virtual contactless cards a tap puts in the simulated reader's field. */
function simControl(devices: DevicesService, uplink: UplinkService, host: HostService, pspLink: QrPspLink): SimControl {
  const sim = new SimControl(
    () => devices.devices,
    () => uplink.simulator,
    () => host.simulator,
    () => pspLink.simulator,
  );
  sim.useContactlessCards({ names: () => listContactlessProfiles(), load: (name) => virtualContactlessCard(name) });
  return sim;
}

/** The scan-to-pay slip on the receipt printer; false when there is none, it cannot print, or it does not finish within payments.receiptWaitMs. */
async function printScanToPaySlip(
  config: Config,
  devices: DevicesService,
  txn: QrTransaction,
  payload: string,
): Promise<boolean> {
  const printer = devices.devices.printer?.driver;
  if (!printer || printer.state.state === 'held') return false;
  const slip = qrSlip(
    {
      payload,
      amount: txn.amount,
      currency: txn.currency,
      waybill: txn.waybill,
      merchantName: config.qr?.merchant.name ?? config.terminal.merchantName,
      terminalLabel: config.terminal.id,
      orderRef: orderRefOf(txn.id),
      at: new Date(),
    },
    { profile: printer.profile },
  );
  await printer.print(slip, { signal: AbortSignal.timeout(config.payments.receiptWaitMs) });
  return true;
}

/** A paid or refunded QR payment's receipt; false when there is no printer, it cannot print, or it does not finish within payments.receiptWaitMs. */
async function printQrReceipt(
  config: Config,
  devices: DevicesService,
  txn: QrTransaction,
  options: { reprint: boolean; header: string[] | undefined },
): Promise<boolean> {
  const printer = devices.devices.printer?.driver;
  if (!printer || printer.state.state === 'held') return false;
  const receipt = qrReceipt(txn, {
    profile: printer.profile,
    merchant: {
      name: config.terminal.merchantName,
      terminalId: config.terminal.id,
      merchantId: config.terminal.merchantId,
      ...(options.header !== undefined && options.header.length > 0 ? { header: options.header } : {}),
    },
    reprint: options.reprint,
  });
  await printer.print(receipt, { signal: AbortSignal.timeout(config.payments.receiptWaitMs) });
  return true;
}

/** What GET /metrics reads (runtime/api/metrics-routes.ts): devices, links, the outbox, the host link's exchanges. */
function daemonMetrics(
  api: { events: EventBus; health: () => Record<string, Health> },
  devices: DevicesService,
  spool: SpoolService,
  host: HostService,
  uplinkStreamNames: readonly string[],
): DaemonMetrics {
  return new DaemonMetrics(api.events, {
    deviceStates: () => devices.states(),
    health: api.health,
    spoolStreams: () => spool.spool.outbox.status(),
    uplinkStreams: uplinkStreamNames,
    // The API starts after the host link, so its client is there when counting begins.
    hostExchanges: (observer) => host.client.observeExchanges(observer),
  });
}

/** What the status page's summary reads from the devices and the spool (runtime/api/status-summary.ts). */
function statusSources(config: Config, devices: DevicesService, spool: SpoolService): StatusSources {
  return {
    currency: config.terminal.currency,
    deviceStates: () => devices.states(),
    spoolStatus: () => spool.spool.status(),
    openBatch: () => {
      const journal = spool.spool.journal;
      const number = journal.counters.openBatch();
      return { number, totals: journal.totals(number) };
    },
  };
}

export function createDaemon(config: Config, log: Logger, version = '0.0.0'): Daemon {
  const events = new EventBus();
  const stages = buildServices(config, log, { events, version, health: () => manager.health() });
  const manager: ServiceManager = new ServiceManager(stages, log);
  const services = stages.flat();
  const spool = services.find((service): service is SpoolService => service instanceof SpoolService);
  const devices = services.find((service): service is DevicesService => service instanceof DevicesService);
  const uplink = services.find((service): service is UplinkService => service instanceof UplinkService);
  return {
    start: () => manager.startAll(),
    stop: () => manager.stopAll(),
    health: () => manager.health(),
    statusLine: () => daemonStatusLine(manager.health(), spool, devices),
    reloadTargets: () => ({ log, uplink }),
  };
}

/**
 * "ready" (or "degraded: the services that are not up"), the records still to send, the host
 * link's state and how many devices are online. Reads only what is in memory or one cheap spool
 * query, so it can be refreshed every few seconds.
 */
function daemonStatusLine(
  health: Record<string, Health>,
  spool: SpoolService | undefined,
  devices: DevicesService | undefined,
): string {
  const notUp = Object.entries(health)
    .filter(([, h]) => h.state !== 'up')
    .map(([name]) => name);
  const parts = [notUp.length === 0 ? 'ready' : `degraded: ${notUp.join(', ')}`];
  try {
    // The outbox's counts only, not spool.status() (disk use, offline exposure, the journal's
    // states): the depth is all this line shows, and it is read every few seconds.
    const depth = spool?.spool.outbox.status().reduce((sum, stream) => sum + stream.depth, 0);
    if (depth !== undefined) parts.push(`${depth} record${depth === 1 ? '' : 's'} to send`);
  } catch {
    parts.push('spool unreadable');
  }
  const host = health.host;
  if (host) parts.push(`host ${host.state}`);
  if (devices) {
    const states = Object.values(devices.states());
    const online = states.filter((state) => state?.state === 'online').length;
    parts.push(`devices: ${online}/${states.length} online`);
  }
  return parts.join('; ');
}

/** `--sim`: every device, the acquirer host and the back-end simulated, whatever the file says. */
export function simulateEverything(config: Config): Config {
  const sim = { kind: 'sim' as const };
  const devices = config.devices;
  return {
    ...config,
    devices: {
      scanner: { ...devices.scanner, transport: sim },
      cardReader: { ...devices.cardReader, transport: sim },
      pinpad: { ...devices.pinpad, transport: sim },
      printer: { ...devices.printer, transport: sim },
    },
    host: { ...config.host, mode: 'sim' },
    uplink: { ...config.uplink, mode: 'sim' },
    qr: { ...(config.qr ?? simQrConfig(config)), pspSimulator: true },
  };
}

/** The QR merchant of a --sim daemon whose file has no `qr` section: the terminal's names, a simulated wallet's account. */
function simQrConfig(config: Config): NonNullable<Config['qr']> {
  return {
    merchant: {
      name: config.terminal.merchantName.slice(0, 25),
      city: 'SIMULATION',
      country: 'US',
      accounts: [
        { id: '26', globallyUniqueIdentifier: 'org.codpos.simwallet', fields: { '01': config.terminal.merchantId } },
      ],
    },
    waitMs: 120_000,
    queryIntervalMs: 2000,
    resolver: { initialMs: 5000, maxMs: 300_000 },
    pspSimulator: true,
  };
}
