/**
 * The uplink: what the logistics back-end must have (waybill events, card transaction
 * records for COD reconciliation) goes from the spool's outbox in HTTP JSON batches,
 * `POST {uplink.url}/records` (docs/uplink.md). Each record keeps the id the terminal made
 * for it, which the back-end dedupes on forever, so a batch sent again after a lost answer
 * is harmless. Accepted records are acknowledged; a record the back-end refuses for good is
 * dead-lettered for the technician (`codpos spool list`); a batch that fails (no network,
 * 5xx, time-out) is retried with the spool's backoff and the service reports degraded.
 *
 * The backoff spaces out tries while the back-end is away; it must not hold the records once
 * it answers again. So while records wait after a failed exchange, a light probe
 * (`GET {uplink.url}/health`) asks every `uplink.probeIntervalMs`, and at once when the box's
 * network addresses change (network-watch.ts); the first exchange that succeeds (a probe, a
 * batch, the task list download) makes the waiting records due and sends them. Records the
 * back-end refused one by one while it answered keep their backoff.
 *
 * `uplink.mode: sim` runs the back-end simulator on loopback in this process (loaded only then).
 */
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { STREAMS, type CourierRecord, type OutboxRecord, type Spool, type Task } from '../../spool/index.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import type { BackendSimulator } from './simulator.js';
import { NetworkWatch, type InterfaceSource } from './network-watch.js';
import { HttpClient, type HttpAnswer } from './http-client.js';
import { readTariff } from '../workflow/tariff.js';
import type { ParamsReport } from '../params/types.js';

/** The streams that go to the back-end, in the order they are sent. */
export const UPLINK_STREAMS = [STREAMS.waybillEvent, STREAMS.transaction, STREAMS.handover] as const;

/**
 * What this box's uplink sends: UPLINK_STREAMS, and the parameter package reports when no fleet
 * link is enabled (with one, the fleet link reports to terminal management itself).
 */
export function uplinkStreams(config: Pick<Config, 'fleet'>): readonly string[] {
  const fleetEnabled = config.fleet !== undefined && config.fleet.enabled;
  return fleetEnabled ? UPLINK_STREAMS : [...UPLINK_STREAMS, STREAMS.paramsReport];
}

export interface UplinkServiceOptions {
  spool: () => Spool;
  /** How long one batch may take (default 15 s). */
  requestTimeoutMs?: number;
  /** Where the box's network addresses are read (default os.networkInterfaces; a test hands in its own). */
  networkInterfaces?: InterfaceSource;
  /** Where `tasks.updated` goes when the download at start has brought the list (absent: not published). */
  events?: EventBus;
  /**
   * A parameter package that came with the task list (`"params": <envelope>`) is handed here
   * (the params service's offer, source 'uplink'); absent: such a package is ignored.
   */
  offerParams?: (envelope: unknown) => Promise<ParamsReport>;
}

/** What a task list download brought: counts, and the tariff stored or why it was refused. */
export interface TaskDownload {
  tasks: number;
  couriers: number;
  /** The version of the tariff that came with the list and is now cached. */
  tariffVersion?: string;
  /** Why the tariff that came with the list was refused (the cached one stays). */
  tariffRefused?: string;
  /** A parameter package came with the list: what became of it (applied, pending or refused; the report went to params-report). */
  params?: Pick<ParamsReport, 'outcome' | 'version' | 'code'>;
}

interface BatchAnswer {
  accepted?: unknown;
  rejected?: unknown;
}

export class UplinkService implements Service {
  readonly name = 'uplink';
  private sim: BackendSimulator | undefined;
  private url = '';
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private network: NetworkWatch | undefined;
  private sending: Promise<number> | undefined;
  /** Someone asked to send while a run was going: run once more after it (what it leased is not all). */
  private sendAgain = false;
  private probing: Promise<boolean> | undefined;
  /**
   * The last exchange with the back-end failed (or none has been made since start): records may
   * wait on a backoff that the next exchange to succeed takes away.
   */
  private backendAway = true;
  private firstDownload: Promise<TaskDownload | undefined> = Promise.resolve(undefined);
  /** Aborted at stop: a download or probe still waiting for a back-end that is away ends then. */
  private lifetime = new AbortController();
  /** node:http with kept-alive connections, not fetch (runtime/uplink/http-client.ts says why). */
  private readonly http = new HttpClient();
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly options: UplinkServiceOptions,
  ) {
    this.streams = uplinkStreams(config);
    this.settings = { ...config.uplink };
  }

  /**
   * The uplink settings in force: the config's, with what a reload changed since
   * (`reconfigure`). Everything here reads them, not the config it started with.
   */
  private settings: Config['uplink'];

  /** What this uplink sends (uplinkStreams). */
  private readonly streams: readonly string[];

  /** The in-process back-end simulator (`uplink.mode: sim`). */
  get simulator(): BackendSimulator | undefined {
    return this.sim;
  }

  async start(): Promise<void> {
    const uplink = this.settings;
    this.url = uplink.url.replace(/\/+$/, '');
    if (uplink.mode === 'sim') {
      // Loaded here only: a real box never loads the simulator.
      const [{ BackendSimulator }, { MemoryRecordStore }] = await Promise.all([
        import('./simulator.js'),
        import('./sim-store.js'),
      ]);
      // The latest records and batches only: what a technician looks at, without the simulator
      // growing with every record of the day (`codpos sim backend` keeps everything in SQLite).
      this.sim = new BackendSimulator({
        basePath: new URL(uplink.url).pathname.replace(/\/+$/, ''),
        token: uplink.token,
        store: new MemoryRecordStore(200),
        maxBatches: 200,
      });
      this.url = (await this.sim.start()).url;
    }
    this.state = { state: 'up' };
    this.backendAway = true;
    this.lifetime = new AbortController();
    this.startTimers();
    if (uplink.networkWatchMs > 0) {
      this.network = new NetworkWatch(() => void this.probeIfWaiting(), this.options.networkInterfaces);
      this.network.start(uplink.networkWatchMs);
    }
    // The day's task list, in the background in every mode: ready does not wait for it (the
    // cached list serves, and a box that boots in a dead zone goes on with it).
    this.firstDownload = this.downloadTasks().then(
      (counts) => {
        this.log.info(counts, 'task list downloaded');
        this.options.events?.publish('tasks.updated', { ...counts });
        return counts;
      },
      (error: unknown) => {
        this.log.warn(
          { code: (error as PosError).code, reason: (error as Error).message },
          'task list not downloaded; the cached one stays',
        );
        return undefined;
      },
    );
  }

  /**
   * Settles when the task list download begun at start has ended: with its counts, or
   * undefined when it failed (the cached list stays). For what needs the day's list at once.
   */
  tasksReady(): Promise<TaskDownload | undefined> {
    return this.firstDownload;
  }

  /** The send and probe timers at the intervals in force. */
  private startTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.probeTimer);
    this.timer = setInterval(() => void this.sendNow().catch(() => undefined), this.settings.intervalMs);
    this.timer.unref();
    this.probeTimer = setInterval(() => void this.probeIfWaiting(), this.settings.probeIntervalMs);
    this.probeTimer.unref();
  }

  /**
   * Takes the settings a reload changed while running (runtime/config-reload.ts LIVE_SETTINGS
   * says which; it passes the running ones for the rest): the token from the next request on, the
   * batch size from the next batch, the send and probe intervals with their timers restarted (a
   * longer interval than before does not leave a record waiting for the old one). The URL and
   * mode are read at start only.
   */
  reconfigure(next: Config['uplink']): void {
    const timersChanged =
      next.intervalMs !== this.settings.intervalMs || next.probeIntervalMs !== this.settings.probeIntervalMs;
    this.settings = { ...next };
    if (timersChanged && this.timer !== undefined) this.startTimers();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.network?.stop();
    this.network = undefined;
    this.lifetime.abort();
    await this.firstDownload;
    await this.probing;
    await this.sending?.catch(() => undefined);
    this.http.close();
    await this.sim?.stop();
    this.sim = undefined;
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  /**
   * Sends what is ready, batch after batch, until nothing is left or a batch fails.
   * Resolves with how many records the back-end accepted. One run at a time.
   */
  sendNow(): Promise<number> {
    if (this.sending) {
      this.sendAgain = true;
      return this.sending;
    }
    this.sending = (async () => {
      let accepted = 0;
      do {
        this.sendAgain = false;
        accepted += await this.drain();
        // Once more only while the back-end answers: while it is away the next try is the backoff's.
      } while (this.sendAgain && !this.backendAway && this.timer);
      return accepted;
    })().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /**
   * While the back-end is away and records wait for it, asks whether it is back
   * (`GET {url}/health`, `uplink.probeTimeoutMs`); when it is, the waiting records are due
   * now and sent. Resolves true when it probed. One probe at a time; none while a batch
   * is on its way (that exchange answers the question).
   */
  probeIfWaiting(): Promise<boolean> {
    if (this.probing) return this.probing;
    if (!this.timer || !this.backendAway || this.sending || !this.recordsWait()) return Promise.resolve(false);
    this.probing = this.probe()
      .then((answered) => {
        if (answered && this.backendAnswered()) void this.sendNow().catch(() => undefined);
        return true;
      })
      .finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** A record of the uplink streams is ready (waiting for its retry time or due): a leased one is on its way. */
  private recordsWait(): boolean {
    const outbox = this.options.spool().outbox;
    return this.streams.some((stream) => outbox.list({ stream, state: 'ready', limit: 1 }).length > 0);
  }

  private async probe(): Promise<boolean> {
    const token = this.settings.token;
    try {
      const answer = await this.http.request(`${this.url}/health`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        timeoutMs: this.settings.probeTimeoutMs,
        signal: this.lifetime.signal,
      });
      return answer.status >= 200 && answer.status < 300;
    } catch {
      return false;
    }
  }

  /**
   * An exchange with the back-end succeeded. After an outage, the records waiting for their
   * retry time are due now (their attempts and last errors stay). Returns true when the
   * back-end was away until now.
   */
  private backendAnswered(): boolean {
    if (!this.backendAway) return false;
    this.backendAway = false;
    const due = this.options.spool().outbox.resetBackoff([...this.streams]);
    if (due > 0) this.log.info({ records: due }, 'the back-end answers again; waiting records are sent now');
    return true;
  }

  private async drain(): Promise<number> {
    const outbox = this.options.spool().outbox;
    const timeoutMs = this.options.requestTimeoutMs ?? 15_000;
    let accepted = 0;
    for (;;) {
      const records = outbox.lease([...this.streams], {
        limit: this.settings.batchSize,
        leaseMs: timeoutMs * 2,
        owner: 'uplink',
      });
      if (records.length === 0) return accepted;
      let answer: BatchAnswer;
      try {
        answer = await this.post(records, timeoutMs);
      } catch (error) {
        const reason = (error as Error).message;
        this.backendAway = true;
        for (const record of records) outbox.fail(record.id, reason);
        this.state = {
          state: 'degraded',
          reason: `the back-end did not take ${records.length} record(s): ${reason}; retrying`,
        };
        this.log.warn({ records: records.length, reason }, 'uplink batch failed');
        return accepted;
      }
      // Before the failures below: what the back-end refuses now keeps its own backoff.
      this.backendAnswered();
      const acceptedIds = new Set(
        Array.isArray(answer.accepted) ? answer.accepted.filter((id): id is string => typeof id === 'string') : [],
      );
      const rejected = new Map<string, { reason: string; permanent: boolean }>();
      for (const r of Array.isArray(answer.rejected) ? answer.rejected : []) {
        const { id, reason, permanent } = (r ?? {}) as { id?: unknown; reason?: unknown; permanent?: unknown };
        if (typeof id === 'string')
          rejected.set(id, { reason: typeof reason === 'string' ? reason : 'refused', permanent: permanent === true });
      }
      // Only this batch's records: an answer may name an id twice or repeat an older batch's ids.
      const acknowledged = records.filter((r) => acceptedIds.has(r.id)).map((r) => r.id);
      outbox.ack(acknowledged);
      accepted += acknowledged.length;
      for (const record of records) {
        if (acceptedIds.has(record.id)) continue;
        const refusal = rejected.get(record.id);
        // Not named in the answer: not taken; try again later like any failure.
        outbox.fail(
          record.id,
          refusal ? `back-end refused it: ${refusal.reason}` : 'the back-end answer did not name it',
          { permanent: refusal?.permanent ?? false },
        );
      }
      this.state = { state: 'up' };
    }
  }

  /**
   * Downloads the task list, the couriers who may check in and the tariff, and replaces the
   * cached ones in one commit (the day then goes on offline). Resolves with how many of each.
   * A tariff that does not read is refused on its own (logged, named in the answer) and the
   * cached one stays: the day's tasks matter more than its prices.
   */
  async downloadTasks(): Promise<TaskDownload> {
    const token = this.settings.token;
    let response: HttpAnswer;
    try {
      response = await this.http.request(
        `${this.url}/tasks?terminalId=${encodeURIComponent(this.config.terminal.id)}`,
        {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
          timeoutMs: this.options.requestTimeoutMs ?? 15_000,
          signal: this.lifetime.signal,
        },
      );
    } catch (error) {
      this.backendAway = true;
      throw new PosError(
        'CODPOS_UPLINK_UNREACHABLE',
        `${this.url} unreachable (${unreachableReason(error)}); the cached task list stays`,
        { cause: error, disconnected: true },
      );
    }
    if (response.status !== 200) {
      this.backendAway = true;
      throw new PosError(
        'CODPOS_UPLINK_REFUSED',
        `${this.url}/tasks answered ${response.status}; the cached task list stays`,
      );
    }
    // The back-end answers: what waited for it goes now (the list is read on meanwhile).
    if (this.backendAnswered() && this.timer) void this.sendNow().catch(() => undefined);
    const list = parseJson(response.text) as
      { tasks?: unknown; couriers?: unknown; tariff?: unknown; params?: unknown } | undefined;
    const tasks = Array.isArray(list?.tasks) ? list.tasks.map(readTask) : undefined;
    const couriers = Array.isArray(list?.couriers) ? list.couriers.map(readCourier) : undefined;
    if (!tasks || !couriers || tasks.includes(undefined) || couriers.includes(undefined)) {
      throw new PosError(
        'CODPOS_UPLINK_BAD_ANSWER',
        `${this.url}/tasks answered a task list that does not read; the cached one stays`,
      );
    }
    let tariff: { version: string; body: unknown } | undefined;
    let tariffRefused: string | undefined;
    if (list?.tariff !== undefined) {
      try {
        tariff = { version: readTariff(list.tariff).version, body: list.tariff };
      } catch (error) {
        tariffRefused = (error as Error).message;
        this.log.warn(
          { code: (error as PosError).code, reason: tariffRefused },
          'tariff refused; the cached one stays',
        );
      }
    }
    this.options.spool().tasks.replace(tasks as Task[], couriers as CourierRecord[], tariff);
    // After the list's tariff: a package's own tariff, when it has one, is the one that stays.
    const report =
      list?.params !== undefined && this.options.offerParams ? await this.options.offerParams(list.params) : undefined;
    return {
      tasks: tasks.length,
      couriers: couriers.length,
      ...(tariff ? { tariffVersion: tariff.version } : {}),
      ...(tariffRefused !== undefined ? { tariffRefused } : {}),
      ...(report
        ? {
            params: {
              outcome: report.outcome,
              version: report.version,
              ...(report.code !== undefined ? { code: report.code } : {}),
            },
          }
        : {}),
    };
  }

  private async post(records: OutboxRecord[], timeoutMs: number): Promise<BatchAnswer> {
    const token = this.settings.token;
    let response: HttpAnswer;
    try {
      response = await this.http.request(`${this.url}/records`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({
          terminalId: this.config.terminal.id,
          records: records.map((r) => ({ id: r.id, stream: r.stream, createdAt: r.createdAt, payload: r.payload })),
        }),
        timeoutMs,
      });
    } catch (error) {
      throw new PosError('CODPOS_UPLINK_UNREACHABLE', `${this.url} unreachable (${unreachableReason(error)})`, {
        cause: error,
        disconnected: true,
      });
    }
    const text = response.text;
    if (response.status !== 200)
      throw new PosError('CODPOS_UPLINK_REFUSED', `${this.url}/records answered ${response.status}`, {
        details: { status: response.status },
      });
    try {
      return JSON.parse(text) as BatchAnswer;
    } catch {
      throw new PosError('CODPOS_UPLINK_BAD_ANSWER', `${this.url}/records answered something that is not JSON`);
    }
  }
}

/** What a technician reads in "unreachable (...)": the socket's code (ECONNREFUSED, ETIMEDOUT, ...). */
function unreachableReason(error: unknown): string {
  return (error as { code?: string }).code ?? (error as Error).message;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readTask(raw: unknown): Task | undefined {
  const t = (raw ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  if (typeof t.id !== 'string' || typeof t.waybill !== 'string' || (t.kind !== 'pickup' && t.kind !== 'delivery'))
    return undefined;
  const codAmount = t.codAmount ?? 0;
  if (typeof codAmount !== 'number' || !Number.isSafeInteger(codAmount) || codAmount < 0) return undefined;
  return {
    id: t.id,
    waybill: t.waybill.replace(/\s+/g, '').toUpperCase(),
    kind: t.kind,
    codAmount,
    currency: text(t.currency),
    consignee: text(t.consignee),
    address: text(t.address),
  };
}

function readCourier(raw: unknown): CourierRecord | undefined {
  const c = (raw ?? {}) as Record<string, unknown>;
  if (typeof c.id !== 'string' || typeof c.name !== 'string' || typeof c.pinHash !== 'string') return undefined;
  return { id: c.id, name: c.name, pinHash: c.pinHash };
}
