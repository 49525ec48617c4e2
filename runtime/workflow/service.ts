/**
 * The courier's waybill events: pickup, dispatch, delivery (with its cash-on-delivery
 * collection) and exceptions with their reason codes. Each is checked (a waybill number
 * that does not check is refused before anything is stored), written to the spool's
 * `waybill-event` stream for the back-end (durable when `record` resolves, so the screen
 * can say "recorded"), and published on the event bus.
 *
 * A delivery collects its COD amount in cash (`tendered` at least the amount; the change
 * is computed) or by card (the journal row of an approved card payment for the amount), and
 * may carry the consignee's e-signature (signature.ts).
 */
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { STREAMS, type Spool } from '../../spool/index.js';
import type { EventBus } from '../api/events.js';
import type { Health, Service } from '../service.js';
import { checkWaybill } from './waybill.js';
import { checkSignature, signaturePng, type Signature } from './signature.js';
import { dayReport, localDate, type DayReport } from './day-report.js';

export const WAYBILL_EVENT_KINDS = ['pickup', 'dispatch', 'delivery', 'exception'] as const;
export type WaybillEventKind = (typeof WAYBILL_EVENT_KINDS)[number];

/** Exception reason codes and what they mean on a screen. */
export const EXCEPTION_REASONS = {
  refused: 'the consignee refused the parcel',
  'not-home': 'the consignee was not there',
  'wrong-address': 'the address is wrong or incomplete',
  damaged: 'the parcel is damaged',
} as const;
export type ExceptionReason = keyof typeof EXCEPTION_REASONS;

export type CodCollection = { method: 'cash'; amount: number; tendered: number } | { method: 'card'; amount: number; journalId: string };

export interface WaybillEventInput {
  kind: WaybillEventKind;
  waybill: string;
  reason?: ExceptionReason;
  note?: string;
  cod?: CodCollection;
  /** The consignee's e-signature (deliveries only): kept as strokes with their times and as a PNG. */
  signature?: Signature;
}

export interface RecordedWaybillEvent {
  id: string;
  kind: WaybillEventKind;
  waybill: string;
  /** Cash deliveries: the change to hand back, minor units. */
  change?: number;
}

/** Journal states that mean the card payment stands. */
const PAID_STATES = new Set(['approved', 'offline_approved', 'advised', 'settled']);

export class WorkflowService implements Service {
  readonly name = 'workflow';
  private state: Health = { state: 'stopped' };
  private operatorPattern: RegExp | undefined;

  constructor(
    private readonly config: Config,
    private readonly deps: { spool: () => Spool; events: EventBus; recordQueued?: () => void },
  ) {}

  async start(): Promise<void> {
    const pattern = this.config.workflow.waybillPattern;
    this.operatorPattern = pattern === '' ? undefined : new RegExp(`^(?:${pattern})$`);
    this.state = { state: 'up' };
  }

  async stop(): Promise<void> {
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  /** Checks and stores one waybill event; resolves once it is durable. Bad input: a USAGE PosError naming it. */
  async record(input: WaybillEventInput): Promise<RecordedWaybillEvent> {
    const { kind } = input;
    if (!WAYBILL_EVENT_KINDS.includes(kind)) throw usage(`kind: expected ${WAYBILL_EVENT_KINDS.join(', ')}`);
    if (typeof input.waybill !== 'string') throw usage('waybill: expected the waybill number as text');
    const check = checkWaybill(input.waybill, this.operatorPattern ? { operatorPattern: this.operatorPattern } : {});
    if (!check.valid) throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, { details: { waybill: check.waybill } });
    if (kind === 'exception') {
      if (input.reason === undefined || !(input.reason in EXCEPTION_REASONS)) throw usage(`reason: an exception needs one of ${Object.keys(EXCEPTION_REASONS).join(', ')}`);
    } else if (input.reason !== undefined) {
      throw usage(`reason: only an exception has a reason, not a ${kind}`);
    }
    if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 500)) throw usage('note: expected text of at most 500 characters');
    if (input.cod !== undefined && kind !== 'delivery') throw usage(`cod: only a delivery collects cash on delivery, not a ${kind}`);
    if (input.signature !== undefined && kind !== 'delivery') throw usage(`signature: only a delivery is signed for, not a ${kind}`);
    if (input.signature !== undefined) checkSignature(input.signature);
    const change = input.cod ? this.checkCollection(input.cod) : undefined;

    const at = new Date().toISOString();
    const payload = {
      kind,
      waybill: check.waybill,
      at,
      terminalId: this.config.terminal.id,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.note !== undefined ? { note: input.note } : {}),
      ...(input.cod ? { cod: { ...input.cod, ...(change !== undefined ? { change } : {}) } } : {}),
      ...(input.signature ? { signature: { canvas: input.signature.canvas, strokes: input.signature.strokes, png: signaturePng(input.signature).toString('base64') } } : {}),
    };
    const { id } = await this.deps.spool().outbox.enqueue(STREAMS.waybillEvent, payload);
    this.deps.events.publish(`waybill.${kind}`, { id, waybill: check.waybill, ...(input.reason !== undefined ? { reason: input.reason } : {}) });
    this.deps.recordQueued?.();
    return { id, kind, waybill: check.waybill, ...(change !== undefined ? { change } : {}) };
  }

  /** The end-of-day report of `date` (YYYY-MM-DD, the terminal's local day; default today): day-report.ts. */
  report(date?: string): DayReport {
    const day = date ?? localDate(new Date());
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw usage(`date: expected YYYY-MM-DD, not ${day}`);
    return dayReport(this.deps.spool(), day);
  }

  /** The change for cash; for card, that the journal row is a standing payment of the amount. */
  private checkCollection(cod: CodCollection): number | undefined {
    if (!Number.isSafeInteger(cod.amount) || cod.amount <= 0) throw usage('cod.amount: expected a positive whole number of minor units');
    if (cod.method === 'cash') {
      if (!Number.isSafeInteger(cod.tendered) || cod.tendered < cod.amount) throw usage(`cod.tendered: the cash handed over (${String(cod.tendered)}) must cover the amount (${cod.amount})`);
      return cod.tendered - cod.amount;
    }
    if (cod.method !== 'card') throw usage('cod.method: expected cash or card');
    const txn = typeof cod.journalId === 'string' ? this.deps.spool().journal.get(cod.journalId) : undefined;
    if (!txn) throw usage(`cod.journalId: no card payment ${String(cod.journalId)} in the journal`);
    if (!PAID_STATES.has(txn.state)) throw usage(`cod.journalId: card payment ${txn.id} is ${txn.state}, not a payment that stands`);
    if (txn.amount !== cod.amount) throw usage(`cod.amount: the card payment was for ${txn.amount}, not ${cod.amount}`);
    return undefined;
  }
}

function usage(message: string): PosError {
  return new PosError('CODPOS_USAGE_WAYBILL_EVENT', message);
}
