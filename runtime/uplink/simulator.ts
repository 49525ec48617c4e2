/**
 * The logistics back-end simulator: a real HTTP server on loopback that takes the
 * terminal's record batches the way the back-end does (docs/uplink.md).
 *
 *   POST {base}/records   { terminalId, records: [{ id, stream, createdAt, payload }] }
 *                         -> { accepted: [id, ...], rejected: [{ id, reason, permanent }] }
 *   GET  {base}/health    -> { status: 'ok' }, 503 while an `unavailable` rule holds (the uplink's probe)
 *   GET  {base}/tasks     -> { couriers: [{ id, name, pinHash }], tasks: [{ id, waybill, kind, codAmount, ... }],
 *                              tariff: { version, currency, zones, weightBands, services, codFee },
 *                              params?: a signed parameter package, when given one (serveParams) }
 *
 * Every record id is kept forever: a record sent again (the terminal did not see the answer)
 * is accepted again and counted once. A record that is not an object with an id and a stream
 * is rejected as permanent. With a bearer token set, a request without it gets 401. Rules
 * make it misbehave for tests and technicians: answer 503, or hold the answer back; seeded
 * random faults (sim-faults.ts) add latency, 500s, dropped connections and duplicated
 * acknowledgements. Records live in a store (sim-store.ts): in memory by default, in SQLite
 * for `codpos sim backend`, so what it acknowledged survives a restart.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendFault, BackendFaultDraw } from './sim-faults.js';
import { MemoryRecordStore, type BackendRecordStore } from './sim-store.js';

export interface UplinkRecord {
  id: string;
  stream: string;
  createdAt: number;
  payload: unknown;
}

export interface BackendRule {
  /** `unavailable`: answer 503; `slow`: answer after `delayMs`. */
  action: 'unavailable' | 'slow';
  delayMs?: number;
  /** How many requests the rule applies to (default: all). */
  times?: number;
}

/** The task list the simulator hands out: couriers (with PIN hashes), tasks and the tariff pickups are quoted with. */
export interface SimTaskList {
  couriers: Array<{ id: string; name: string; pinHash: string }>;
  tasks: Array<{
    id: string;
    waybill: string;
    kind: 'pickup' | 'delivery';
    codAmount: number;
    currency: string | null;
    consignee: string | null;
    address: string | null;
  }>;
  /** As runtime/workflow/tariff.ts reads it (left as JSON here: a test may hand out a broken one). */
  tariff?: unknown;
  /** A signed parameter package (runtime/params/types.ts ParamsEnvelope) handed out with the list. */
  params?: unknown;
}

/**
 * Courier C001's PIN 1234 as a back-end stores it: hashed once (salt "codpos-sim-C001!"), not at
 * each start, where scrypt's 80 ms and 16 MB would be half the daemon's boot in sim mode
 * (test/runtime/uplink/sim-backend.test.ts checks it still verifies).
 */
export const SIM_COURIER_PIN_HASH =
  'scrypt$16384$8$1$Y29kcG9zLXNpbS1DMDAxIQ==$TI3SWwq08aklzeYfuJFC5lRNrfuK/9RAQdhVgkF4/lA=';

/** The simulated depot's day: courier C001 (PIN 1234), three deliveries (two with cash on delivery) and a pickup. */
export function defaultSimTaskList(): SimTaskList {
  return {
    couriers: [{ id: 'C001', name: 'Sim Courier', pinHash: SIM_COURIER_PIN_HASH }],
    tasks: [
      {
        id: 'T1',
        waybill: 'RR123456785CH',
        kind: 'delivery',
        codAmount: 2350,
        currency: '840',
        consignee: 'A. Consignee',
        address: '1 Main Street',
      },
      {
        id: 'T2',
        waybill: 'RR003000000CH',
        kind: 'delivery',
        codAmount: 2500,
        currency: '840',
        consignee: 'B. Consignee',
        address: '2 Main Street',
      },
      {
        id: 'T3',
        waybill: 'RR000000005CH',
        kind: 'delivery',
        codAmount: 0,
        currency: '840',
        consignee: 'C. Consignee',
        address: '3 Main Street',
      },
      {
        id: 'T4',
        waybill: 'RR111111115CH',
        kind: 'pickup',
        codAmount: 0,
        currency: null,
        consignee: 'D. Shipper',
        address: '4 Main Street',
      },
    ],
    tariff: defaultSimTariff(),
  };
}

/**
 * The simulated depot's tariff, in US dollars (cents): the city (postcodes 100-102, area NYC),
 * the metro area around it (103-104, 11, 07; area METRO) and the rest of the country (any other
 * postcode; area US); four weight bands to 30 kg; standard and express (no express over 20 kg
 * outside the metro area); COD fee 1.5 % plus 0.50, at least 1.50.
 */
export function defaultSimTariff() {
  return {
    version: 'sim-2026.1',
    currency: '840',
    zones: [
      { id: 'city', name: 'City', postcodePrefixes: ['100', '101', '102'], areaCodes: ['NYC'] },
      { id: 'metro', name: 'Metro area', postcodePrefixes: ['103', '104', '11', '07'], areaCodes: ['METRO'] },
      {
        id: 'national',
        name: 'National',
        postcodePrefixes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        areaCodes: ['US'],
      },
    ],
    weightBands: [
      { id: 'S', upToGrams: 1_000 },
      { id: 'M', upToGrams: 5_000 },
      { id: 'L', upToGrams: 20_000 },
      { id: 'XL', upToGrams: 30_000 },
    ],
    services: [
      {
        id: 'standard',
        prices: { city: [500, 700, 1200, 1800], metro: [650, 900, 1500, 2200], national: [900, 1400, 2400, 3600] },
      },
      {
        id: 'express',
        prices: { city: [900, 1200, 2000, 2900], metro: [1100, 1500, 2500, 3600], national: [1900, 2600, 4200, null] },
      },
    ],
    codFee: { fixed: 50, rateBasisPoints: 150, minimum: 150 },
  };
}

export interface BackendSimulatorOptions {
  /** What GET {base}/tasks answers (default: defaultSimTaskList()). */
  taskList?: SimTaskList;
  port?: number;
  /** Path prefix the API lives under (from `uplink.url`), e.g. /api/v1. */
  basePath?: string;
  token?: string;
  rules?: BackendRule[];
  /** Where acknowledged records are kept (default: in memory). The caller closes it. */
  store?: BackendRecordStore;
  /** Seeded random faults (latency, 500, drop, duplicated acknowledgements). */
  faults?: BackendFaultDraw;
  /** Called once per record batch answered (or failed), for the console's one line per batch. */
  onBatch?: (batch: BackendBatch) => void;
  /** How many of the latest batches `batches` keeps (default 1,000); `batchCounts` counts them all. */
  maxBatches?: number;
}

/** One POST /records as the simulator saw it. */
export interface BackendBatch {
  terminalId: string;
  ids: string[];
  /** The HTTP status answered; 0 when the connection was dropped. */
  status: number;
  /** Records kept for the first time, and copies of records already held. */
  fresh?: number;
  duplicates?: number;
  fault?: BackendFault;
}

export class BackendSimulator {
  /** Records by id, as first received: what the back-end "has". */
  readonly records: BackendRecordStore;
  /** The latest batches received (including repeats and refused ones), for tests and the console; oldest first. */
  readonly batches: BackendBatch[] = [];
  /** GET {base}/health requests answered (the uplink's probes), for tests. */
  probes = 0;
  /** Every batch received since the simulator was made, and the faults drawn for them (`batches` keeps the latest only). */
  readonly batchCounts: { batches: number; faults: Record<BackendFault, number> } = {
    batches: 0,
    faults: { drop: 0, error: 0, duplicate: 0 },
  };
  /** The ids the last answered batch acknowledged: what a `duplicate` fault repeats. */
  private lastAccepted: string[] = [];
  private readonly server: Server;
  private readonly rules: BackendRule[];
  private address: AddressInfo | undefined;
  private taskList: SimTaskList | undefined;

  constructor(private readonly options: BackendSimulatorOptions = {}) {
    this.rules = [...(options.rules ?? [])];
    this.records = options.store ?? new MemoryRecordStore();
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  async start(): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.address = this.server.address() as AddressInfo;
    return { port: this.address.port, url: `http://127.0.0.1:${this.address.port}${this.options.basePath ?? ''}` };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The parameter package the task list hands out from now on (undefined: none). */
  serveParams(envelope: unknown): void {
    const list = (this.taskList ??= this.options.taskList ?? defaultSimTaskList());
    if (envelope === undefined) delete list.params;
    else list.params = envelope;
  }

  addRule(rule: BackendRule): void {
    this.rules.unshift(rule);
  }

  /** Back to answering normally (an outage is over). */
  clearRules(): void {
    this.rules.length = 0;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '').split('?')[0];
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`)
      return answer(res, 401, { error: 'bearer token required' });
    const faults = this.options.faults;
    if (faults?.latencyMs) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    if (path === `${this.options.basePath ?? ''}/tasks` && req.method === 'GET') {
      const fault = faults?.nextForTasks();
      if (fault === 'drop') return void req.socket.destroy();
      if (fault === 'error') return answer(res, 500, { error: 'back-end error (simulated fault)' });
      this.taskList ??= this.options.taskList ?? defaultSimTaskList();
      return answer(res, 200, this.taskList);
    }
    if (path === `${this.options.basePath ?? ''}/health` && (req.method === 'GET' || req.method === 'HEAD')) {
      this.probes++;
      // Looks at the rule without spending it: a rule's `times` counts record batches.
      if (this.rules[0]?.action === 'unavailable')
        return answer(res, 503, { error: 'back-end unavailable (simulator rule)' });
      return answer(res, 200, { status: 'ok' });
    }
    if (path !== `${this.options.basePath ?? ''}/records` || req.method !== 'POST')
      return answer(res, 404, { error: `no ${req.method ?? ''} ${path ?? ''}` });
    let batch: { terminalId?: unknown; records?: unknown };
    try {
      batch = JSON.parse(body) as typeof batch;
    } catch {
      return answer(res, 400, { error: 'the body is not JSON' });
    }
    const terminalId = typeof batch.terminalId === 'string' ? batch.terminalId : '';
    const records = Array.isArray(batch.records) ? (batch.records as unknown[]) : [];
    const rule = this.nextRule();
    if (rule?.action === 'unavailable') {
      this.noteBatch({ terminalId, ids: idsOf(records), status: 503 });
      return answer(res, 503, { error: 'back-end unavailable (simulator rule)' });
    }
    if (rule?.action === 'slow') await new Promise((resolve) => setTimeout(resolve, rule.delayMs ?? 1000));
    const fault = faults?.next();
    if (fault === 'error') {
      this.noteBatch({ terminalId, ids: idsOf(records), status: 500, fault });
      return answer(res, 500, { error: 'back-end error (simulated fault)' });
    }
    const accepted: string[] = [];
    const rejected: Array<{ id: string; reason: string; permanent: boolean }> = [];
    const toKeep: Array<UplinkRecord & { terminalId: string }> = [];
    for (const record of records) {
      const r = record as Partial<UplinkRecord>;
      if (
        typeof r !== 'object' ||
        r === null ||
        typeof r.id !== 'string' ||
        r.id === '' ||
        typeof r.stream !== 'string'
      ) {
        rejected.push({
          id: typeof r?.id === 'string' ? r.id : '',
          reason: 'a record needs an id and a stream',
          permanent: true,
        });
        continue;
      }
      toKeep.push({
        id: r.id,
        stream: r.stream,
        createdAt: Number.isSafeInteger(r.createdAt) ? Number(r.createdAt) : 0,
        payload: r.payload,
        terminalId,
      });
      accepted.push(r.id);
    }
    // Kept (committed) before any answer: an acknowledgement the terminal sees is never lost.
    const fresh = this.records.keep(toKeep).filter(Boolean).length;
    const seen: BackendBatch = {
      terminalId,
      ids: idsOf(records),
      status: fault === 'drop' ? 0 : 200,
      fresh,
      duplicates: toKeep.length - fresh,
      ...(fault ? { fault } : {}),
    };
    this.noteBatch(seen);
    if (fault === 'drop') return void req.socket.destroy();
    const previous = this.lastAccepted;
    this.lastAccepted = accepted;
    const acknowledged = fault === 'duplicate' ? [...accepted.flatMap((id) => [id, id]), ...previous] : accepted;
    answer(res, 200, { accepted: acknowledged, rejected });
  }

  private noteBatch(batch: BackendBatch): void {
    this.batches.push(batch);
    if (this.batches.length > (this.options.maxBatches ?? 1_000)) this.batches.shift();
    this.batchCounts.batches++;
    if (batch.fault) this.batchCounts.faults[batch.fault]++;
    this.options.onBatch?.(batch);
  }

  private nextRule(): BackendRule | undefined {
    const rule = this.rules[0];
    if (!rule) return undefined;
    if (rule.times !== undefined && --rule.times <= 0) this.rules.shift();
    return rule;
  }
}

function idsOf(records: unknown[]): string[] {
  return records.map((r) => {
    const id = (r as { id?: unknown } | null)?.id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', () => resolve(text));
  });
}
