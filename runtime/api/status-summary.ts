/**
 * `GET /v1/status/summary`: what the technician's status page shows, in one answer — each
 * device's link, the acquirer and back-end links, the spool's depths and oldest record, the
 * open batch's totals, the courier's session, the day's cash and card totals and the last
 * payments. Payments carry the card's last four digits at most (the journal's 6+4 is cut
 * here, so the browser never holds more). A part whose source fails or is not there is null
 * and `problems` says why: the page still shows the rest.
 */
import type { Health } from '../service.js';
import type { PaymentView } from '../payment/payment-view.js';
import type { SpoolStatus } from '../../spool/spool.js';
import { formatAmount } from '../payment/receipt.js';

/** What the summary reads that the API's other routes do not already have (the daemon wires it). */
export interface StatusSources {
  /** ISO 4217 numeric code of the terminal's currency (terminal.currency). */
  currency: string;
  deviceStates(): Partial<Record<string, { state: string; reason?: string }>>;
  spoolStatus(): SpoolStatus;
  /** The open batch's number and its count and approved amount per kind. */
  openBatch(): { number: number; totals: Record<'purchase' | 'void' | 'refund', { count: number; amount: number }> };
}

export interface SummaryInputs {
  daemon: { pid: number; version: string; startedAt: string };
  health: () => Record<string, Health>;
  sources?: StatusSources;
  payments?: { payments(): { payments: PaymentView[] } };
  workflow?: { tasks(): unknown; report(date?: string): unknown };
  now?: () => Date;
}

export interface Money {
  count: number;
  amount: number;
  /** `USD 25.00`: as the page shows it. */
  text: string;
}

export interface SummaryPayment {
  journalId: string;
  createdAt: string;
  kind: string;
  state: string;
  outcome: string;
  waybill: string | null;
  amount: number;
  amountText: string;
  entry: string | null;
  panLast4: string | null;
}

export interface StatusSummary {
  at: string;
  daemon: SummaryInputs['daemon'];
  services: Record<string, Health>;
  devices: Array<{ name: string; state: string; reason?: string }>;
  /** `fleet` only where the daemon has a fleet link (config `fleet`). */
  links: { host: Health | null; uplink: Health | null; fleet?: Health };
  spool: {
    depth: number;
    dead: number;
    oldestPendingAt: string | null;
    oldestPendingAgeMs: number | null;
    streams: Array<{ stream: string; depth: number; dead: number; oldestPendingAt: string | null }>;
  } | null;
  batch: { number: number; purchases: Money; refunds: Money; voids: Money } | null;
  courier: { id: string; name: string } | null;
  tasks: { total: number; done: number } | null;
  day: { date: string; deliveries: number; pickups: number; cash: Money; card: Money; qr: Money } | null;
  /** The day's last payments, newest first. */
  payments: SummaryPayment[] | null;
  problems: string[];
}

/** How many of the day's payments the page lists. */
export const SUMMARY_PAYMENTS = 10;

export function statusSummary(inputs: SummaryInputs): StatusSummary {
  const problems: string[] = [];
  const part = <T>(what: string, read: (() => T) | undefined): T | null => {
    if (read === undefined) {
      problems.push(`${what}: not available in this daemon`);
      return null;
    }
    try {
      return read();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return null;
    }
  };
  const { sources } = inputs;
  const currency = sources?.currency ?? '840';
  const money = (value: { count: number; amount: number }): Money => ({
    count: value.count,
    amount: value.amount,
    text: formatAmount(value.amount, currency),
  });
  const services = inputs.health();
  const workflow = inputs.workflow;
  const tasks = part(
    'tasks',
    workflow &&
      (() => workflow.tasks() as { courier: { id: string; name: string } | null; tasks: Array<{ done: boolean }> }),
  );
  return {
    at: (inputs.now ?? (() => new Date()))().toISOString(),
    daemon: inputs.daemon,
    services,
    devices:
      part(
        'devices',
        sources &&
          (() =>
            Object.entries(sources.deviceStates()).map(([name, state]) => ({
              name,
              state: state!.state,
              ...(state!.reason ? { reason: state!.reason } : {}),
            }))),
      ) ?? [],
    links: {
      host: services.host ?? null,
      uplink: services.uplink ?? null,
      ...(services.fleet ? { fleet: services.fleet } : {}),
    },
    spool: part('spool', sources && (() => spoolPart(sources.spoolStatus()))),
    batch: part(
      'batch',
      sources &&
        (() => {
          const { number, totals } = sources.openBatch();
          return {
            number,
            purchases: money(totals.purchase),
            refunds: money(totals.refund),
            voids: money(totals.void),
          };
        }),
    ),
    courier: tasks?.courier ?? null,
    tasks: tasks && { total: tasks.tasks.length, done: tasks.tasks.filter((task) => task.done).length },
    day: part(
      'day',
      workflow &&
        (() => {
          const report = workflow.report() as {
            date: string;
            deliveries: number;
            pickups: number;
            cash: { count: number; amount: number };
            card: { count: number; amount: number };
            qr: { count: number; amount: number };
          };
          return {
            date: report.date,
            deliveries: report.deliveries,
            pickups: report.pickups,
            cash: money(report.cash),
            card: money(report.card),
            qr: money(report.qr),
          };
        }),
    ),
    payments: part('payments', inputs.payments && (() => lastPayments(inputs.payments!.payments().payments))),
    problems,
  };
}

function spoolPart(status: SpoolStatus): NonNullable<StatusSummary['spool']> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    depth: status.depth,
    dead: status.dead,
    oldestPendingAt: iso(status.oldestPendingAt),
    oldestPendingAgeMs: status.oldestPendingAgeMs,
    streams: status.streams.map((stream) => ({
      stream: stream.stream,
      depth: stream.depth,
      dead: stream.dead,
      oldestPendingAt: iso(stream.oldestPendingAt),
    })),
  };
}

function lastPayments(views: PaymentView[]): SummaryPayment[] {
  return views
    .slice(-SUMMARY_PAYMENTS)
    .reverse()
    .map((view) => ({
      journalId: view.journalId,
      createdAt: view.createdAt,
      kind: view.kind,
      state: view.state,
      outcome: view.outcome,
      waybill: view.waybill,
      amount: view.approvedAmount ?? view.amount,
      amountText: formatAmount(view.approvedAmount ?? view.amount, view.currency),
      entry: view.entry ?? null,
      panLast4: lastFour(view.panMasked),
    }));
}

/** The last four digits of a masked PAN (`476173******0119` -> `0119`); nothing else of it. */
export function lastFour(panMasked: string | null): string | null {
  const digits = panMasked === null ? null : /(\d{4})$/.exec(panMasked);
  return digits ? digits[1]! : null;
}
