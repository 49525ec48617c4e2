/**
 * Plays the courier's day through the daemon's local API, as the screen app would: check-in,
 * the task list, pickups, dispatch, deliveries paid by chip + PIN, by fallback swipe, in cash,
 * partly by card and the rest in cash, a refusal and a not-home, an uplink outage spooled and
 * drained, settlement, the day's reconciliation and the cash handover. One readable line per
 * step; the summary says what the day came to.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonApi, EventFollower } from './api.js';
import { CLERK, COURIER, DELIVERIES, PICKUPS, type PlannedDelivery } from './plan.js';

/** The day's back-end, as the player controls it (a simulator it runs, in process or as a process). */
export interface DayBackend {
  /** Before each delivery of the round: the back-end may go away or come back; says what happened. */
  beforeDelivery(index: number): Promise<string | undefined>;
  /** After the round: the back-end is (back) up. */
  afterRound(): Promise<string | undefined>;
  /** Records the back-end holds (each once). */
  records(): Promise<Array<{ id: string; stream: string; payload: unknown }>>;
}

/** The player's own in-process back-end: away from the fourth delivery to the end of the round. */
export function outageMidRound(
  simulator: {
    addRule(rule: { action: 'unavailable' }): void;
    clearRules(): void;
    records: { values(): IterableIterator<{ id: string; stream: string; payload: unknown }> };
  },
  from = 3,
): DayBackend {
  return {
    beforeDelivery: async (index) => {
      if (index !== from) return undefined;
      simulator.addRule({ action: 'unavailable' });
      return 'the back-end is unreachable: records wait in the spool';
    },
    afterRound: async () => {
      simulator.clearRules();
      return 'the back-end answers again';
    },
    records: async () => [...simulator.records.values()],
  };
}

export interface DaySummary {
  deliveries: number;
  pickups: number;
  exceptions: number;
  card: { count: number; amount: number };
  cash: { count: number; amount: number };
  settlement: string;
  reconciled: boolean;
  problems: string[];
  handover: string;
  receipts: string[];
  signatures: string[];
}

interface Payment {
  outcome: string;
  reason: string;
  journalId?: string;
  approvedAmount?: number;
  remainingDue?: number;
  entry?: string;
  receiptPrinted: boolean;
}

const money = (minor: number) => `USD ${(minor / 100).toFixed(2)}`;

export async function playDay(
  api: DaemonApi,
  events: EventFollower,
  backend: DayBackend,
  outDir: string,
  print: (line: string) => void,
): Promise<DaySummary> {
  const step = (what: string, detail: string) =>
    print(`${new Date().toTimeString().slice(0, 8)}  ${what.padEnd(14)} ${detail}`);

  const status = await api.get<{ services: Record<string, { state: string; reason?: string }> }>('/v1/status');
  step(
    'daemon',
    Object.entries(status.services)
      .map(([name, health]) => `${name} ${health.state}`)
      .join(', '),
  );
  await api.post('/v1/tasks/refresh');
  const list = await api.get<{ tasks: Array<{ kind: string }> }>('/v1/tasks');
  step(
    'task list',
    `${list.tasks.filter((t) => t.kind === 'delivery').length} deliveries and ${list.tasks.filter((t) => t.kind === 'pickup').length} pickups downloaded`,
  );
  await api.post('/v1/courier/check-in', { courierId: COURIER.id, pin: COURIER.pin });
  step('check-in', `${COURIER.id} ${COURIER.name}`);

  for (const pickup of PICKUPS) {
    const recorded = await api.post<{ quote?: { total: number; zoneName: string } | null }>('/v1/waybills/events', {
      kind: 'pickup',
      waybill: pickup.waybill,
      weightGrams: pickup.weightGrams,
      destination: pickup.destination,
      service: pickup.service,
    });
    step(
      'pickup',
      `${pickup.waybill} ${pickup.weightGrams} g to ${pickup.destination} (${pickup.service})${recorded.quote ? `: quoted ${money(recorded.quote.total)} (${recorded.quote.zoneName}) from the cached tariff` : ': no tariff cached, not priced'}`,
    );
  }
  for (const delivery of DELIVERIES)
    await api.post('/v1/waybills/events', { kind: 'dispatch', waybill: delivery.waybill });
  step('dispatch', `${DELIVERIES.length} parcels out for delivery`);

  // The back-end may go away during the round: what is recorded meanwhile waits in the spool.
  for (const [index, delivery] of DELIVERIES.entries()) {
    const change = await backend.beforeDelivery(index);
    if (change) step('uplink', change);
    await deliver(api, events, delivery, step);
  }
  const spooled = await api.get<{ services: Record<string, { state: string; reason?: string }> }>('/v1/status');
  step(
    'uplink',
    `end of round: ${spooled.services.uplink?.state ?? '?'}${spooled.services.uplink?.reason ? ` (${spooled.services.uplink.reason})` : ''}`,
  );
  const back = await backend.afterRound();
  if (back) step('uplink', back);
  const held = await drained(api, backend);
  step('uplink', `the back-end is back: it holds ${held} records, nothing waits`);

  const settlement = await api.post<{
    inBalance: boolean;
    batch: number;
    totals: { debitCount: number; debitAmount: number };
    reason?: string;
  }>('/v1/settlement');
  const settled = settlement.inBalance
    ? `batch ${settlement.batch} settled in balance: ${settlement.totals.debitCount} card payments, ${money(settlement.totals.debitAmount)}`
    : `batch ${settlement.batch} out of balance: ${settlement.reason ?? ''}`;
  step('settlement', settled);

  const report = await api.get<{
    deliveries: number;
    pickups: number;
    cash: { count: number; amount: number };
    card: { count: number; amount: number };
    exceptions: Record<string, number>;
    collections: Array<{ waybill: string; matched: boolean; problem?: string }>;
    codDue: Array<{ waybill: string; status: string; reason?: string }>;
    unmatchedPayments: unknown[];
  }>('/v1/reports/day');
  const problems = [
    ...report.collections.filter((c) => !c.matched).map((c) => `${c.waybill}: ${c.problem ?? 'not matched'}`),
    ...report.codDue.filter((c) => c.status === 'open').map((c) => `${c.waybill}: COD still open`),
    ...(report.unmatchedPayments.length > 0
      ? [`${report.unmatchedPayments.length} card payment(s) no delivery collected with`]
      : []),
  ];
  step(
    'reconciliation',
    problems.length === 0
      ? `every COD waybill matched with its money (${report.collections.length} collected, ${report.codDue.filter((c) => c.status === 'exception').length} returned with an exception)`
      : `${problems.length} problem(s): ${problems.join('; ')}`,
  );

  let handedOver = false;
  const handover = await handOver(api, report.cash.amount).then(
    (answer) => {
      handedOver = answer.difference === 0;
      return answer.text;
    },
    (error: Error) => `not recorded: ${error.message}`,
  );
  step('handover', handover);

  const artifacts = await writeArtifacts(api, backend, outDir);
  step('receipts', `${artifacts.receipts.length} printed, rendered in ${join(outDir, 'receipts')}`);
  step('signatures', `${artifacts.signatures.length} proof-of-delivery images in ${join(outDir, 'signatures')}`);
  return {
    deliveries: report.deliveries,
    pickups: report.pickups,
    exceptions: Object.values(report.exceptions).reduce((a, b) => a + b, 0),
    card: report.card,
    cash: report.cash,
    settlement: settled,
    // The day is done when every COD waybill matched its money, the batch settled and the cash was handed over in full.
    reconciled: problems.length === 0 && settlement.inBalance && handedOver,
    problems,
    handover,
    ...artifacts,
  };
}

/** One address: pay as planned, then record the delivery (or the exception). */
async function deliver(
  api: DaemonApi,
  events: EventFollower,
  delivery: PlannedDelivery,
  step: (what: string, detail: string) => void,
): Promise<void> {
  const { visit, waybill, codAmount } = delivery;
  if (visit.how === 'exception') {
    await api.post('/v1/waybills/events', { kind: 'exception', waybill, reason: visit.reason });
    step('exception', `${waybill} ${visit.reason}: the parcel and its ${money(codAmount)} COD go back to the depot`);
    return;
  }
  const signature = signatureOf(waybill);
  if (visit.how === 'prepaid') {
    await api.post('/v1/waybills/events', { kind: 'delivery', waybill, signature });
    step('delivery', `${waybill} prepaid, signed for`);
    return;
  }
  if (visit.how === 'cash') {
    const recorded = await api.post<{ change?: number }>('/v1/waybills/events', {
      kind: 'delivery',
      waybill,
      cod: { method: 'cash', amount: codAmount, tendered: visit.tendered },
      signature,
    });
    step(
      'delivery',
      `${waybill} ${money(codAmount)} in cash, ${money(visit.tendered)} tendered, change ${money(recorded.change ?? 0)}`,
    );
    return;
  }
  await api.post('/v1/sim/pinpad', { pin: '1234' });
  if (visit.how === 'partial')
    await api.post('/v1/sim/host', {
      rule: { mti: '0200', amount: codAmount, action: 'partial', approvedAmount: visit.approved, times: 1 },
    });
  const from = events.events.length;
  await api.post('/v1/sim/card', { action: 'insert', card: visit.card });
  const paying = api.post<Payment>('/v1/payments/card', { amount: codAmount, waybill });
  if (visit.how === 'fallback') {
    // The chip does not answer; once the terminal asks for the stripe, the courier swipes the same card.
    await events.next((event) => event.type === 'payment.chip-failed', from);
    await events.next((event) => event.type === 'payment.waiting-card', from);
    await api.post('/v1/sim/card', { action: 'swipe', card: visit.card });
  }
  const paid = await paying;
  await api.post('/v1/sim/card', { action: 'remove' });
  if (paid.outcome !== 'approved' || paid.journalId === undefined)
    throw new Error(`${waybill}: the card payment ended ${paid.outcome} (${paid.reason})`);
  const approved = paid.approvedAmount ?? codAmount;
  const how = paid.entry === 'fallback' ? 'by swipe after the chip failed' : 'by chip + PIN';
  if (visit.how === 'partial') {
    const rest = codAmount - approved;
    await api.post('/v1/waybills/events', {
      kind: 'delivery',
      waybill,
      cod: [
        { method: 'card', amount: approved, journalId: paid.journalId },
        { method: 'cash', amount: rest, tendered: visit.tendered },
      ],
      signature,
    });
    step(
      'delivery',
      `${waybill} ${money(codAmount)}: card approved only ${money(approved)} (partial), ${money(rest)} collected in cash`,
    );
    return;
  }
  await api.post('/v1/waybills/events', {
    kind: 'delivery',
    waybill,
    cod: { method: 'card', amount: codAmount, journalId: paid.journalId },
    signature,
  });
  step('delivery', `${waybill} ${money(codAmount)} ${how}, receipt ${paid.receiptPrinted ? 'printed' : 'held'}`);
}

/** Waits until the spool has nothing left for the back-end; answers how many records it holds. */
async function drained(api: DaemonApi, backend: DayBackend): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const status = await api.get<{ services: Record<string, { state: string }> }>('/v1/status');
    if (status.services.uplink?.state === 'up') {
      const before = (await backend.records()).length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      if ((await backend.records()).length === before) return before;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the spooled records did not reach the back-end within a minute');
}

/** The cash handover to the depot clerk: the counted amount is the day's cash. */
async function handOver(api: DaemonApi, cash: number): Promise<{ difference: number; text: string }> {
  const answer = await api.post<{ expected: number; counted: number; difference: number; slipPrinted: boolean }>(
    '/v1/handover',
    { counted: cash, clerkId: CLERK },
  );
  return {
    difference: answer.difference,
    text: `${money(answer.counted)} counted by ${CLERK}, ${money(answer.expected)} expected, difference ${money(answer.difference)}, slip ${answer.slipPrinted ? 'printed' : 'not printed'}; the day is closed`,
  };
}

/** The printed receipts as text, and each delivery's signature as the PNG the back-end got. */
async function writeArtifacts(
  api: DaemonApi,
  backend: DayBackend,
  outDir: string,
): Promise<{ receipts: string[]; signatures: string[] }> {
  const receiptsDir = join(outDir, 'receipts');
  const signaturesDir = join(outDir, 'signatures');
  mkdirSync(receiptsDir, { recursive: true });
  mkdirSync(signaturesDir, { recursive: true });
  const { pages } = await api.get<{ pages: string[][] }>('/v1/sim/printer');
  const receipts = pages.map((page, i) => {
    const file = join(receiptsDir, `${String(i + 1).padStart(3, '0')}.txt`);
    writeFileSync(file, page.join('\n') + '\n');
    return file;
  });
  const signatures: string[] = [];
  for (const record of await backend.records()) {
    const payload = record.payload as { kind?: string; waybill?: string; signature?: { png?: string } };
    if (record.stream !== 'waybill-event' || payload.kind !== 'delivery' || !payload.signature?.png) continue;
    const file = join(signaturesDir, `${payload.waybill ?? record.id}.png`);
    writeFileSync(file, Buffer.from(payload.signature.png, 'base64'));
    signatures.push(file);
  }
  return { receipts, signatures };
}

/** A consignee's signature: a few strokes across the pad with their times, different per waybill. */
function signatureOf(waybill: string): {
  canvas: { width: number; height: number };
  strokes: Array<Array<{ x: number; y: number; t: number }>>;
} {
  const seed = Number(waybill.slice(2, 10)) % 7;
  const strokes = [0, 1].map((s) =>
    Array.from({ length: 24 }, (_, i) => ({
      x: 20 + s * 180 + i * 7,
      y: Math.round(60 + 30 * Math.sin((i + seed) / 3) * (s === 0 ? 1 : -1)),
      t: s * 600 + i * 15,
    })),
  );
  return { canvas: { width: 400, height: 120 }, strokes };
}
