/**
 * The courier's waybill events: pickup, dispatch, delivery (with its cash-on-delivery
 * collection) and exceptions with their reason codes. Each is checked (a waybill number
 * that does not check is refused before anything is stored), written to the spool's
 * `waybill-event` stream for the back-end (durable when `record` resolves, so the screen
 * can say "recorded"), and published on the event bus.
 *
 * A delivery collects its COD amount in one part or several (cod-collection.ts): cash
 * (`tendered` at least the amount; the change is computed) and card payments, each card at the
 * amount its issuer approved; and may carry the consignee's e-signature (signature.ts).
 * A pickup may carry the parcel's weight and destination: it is then priced offline with the
 * tariff cached from the back-end (tariff.ts) and the quote goes with the event.
 */
import { isCalendarDay, isoDateParts } from '../../config/calendar.js';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { STREAMS, type Spool, type Task } from '../../spool/index.js';
import { verifyCourierPin } from './courier-pin.js';
import type { EventBus } from '../api/events.js';
import type { Health, Service } from '../service.js';
import { checkWaybill } from './waybill.js';
import { checkSignature, renderSignature, signaturePng, type Signature } from './signature.js';
import { buildDeliveryReceipt } from './delivery-receipt.js';
import type { PrinterDriver } from '../../drivers/printer/driver.js';
import { dayReport, type DayReport } from './day-report.js';
import { currencyText, localDateText, sameCurrency } from '../payment/receipt.js';
import { checkCod, recordedParts, type CheckedCod, type CodInput, type RecordedPart } from './cod-collection.js';
import { normalizeDestination, quote, readTariff, type Quote, type Tariff } from './tariff.js';
import { checkHandoverInput, HandoverBook, type Handover } from './handover.js';
import { buildHandoverSlip } from './handover-slip.js';
import {
  eventsByWaybill,
  taskState,
  waybillStanding,
  type TaskState,
  type WaybillHistoryEvent,
  type WaybillStanding,
} from './waybill-history.js';

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

export type { CodCollection, CodInput } from './cod-collection.js';

export interface WaybillEventInput {
  kind: WaybillEventKind;
  waybill: string;
  reason?: ExceptionReason;
  note?: string;
  /** One collection, or the parts of one (e.g. a partially approved card and cash for the rest). */
  cod?: CodInput;
  /** The consignee's e-signature (deliveries only): kept as strokes with their times and as a PNG. */
  signature?: Signature;
  /** Pickups: the parcel's weight, with `destination`, prices it with the cached tariff. */
  weightGrams?: number;
  /** Pickups: the postcode or area code the parcel goes to. */
  destination?: string;
  /** Pickups: the service asked for (default: the tariff's first). */
  service?: string;
}

/** What `GET /v1/quote` asks: a parcel to price with the cached tariff. */
export interface QuoteQuery {
  destination: string;
  weightGrams: number;
  service?: string;
  codAmount?: number;
}

export interface RecordedWaybillEvent {
  id: string;
  kind: WaybillEventKind;
  waybill: string;
  /** Deliveries with a cash part: the change to hand back, minor units. */
  change?: number;
  /** Deliveries: whether the delivery receipt printed (a printer fault never undoes the event). */
  receiptPrinted?: boolean;
  /** Pickups weighed with a destination: the price, or null when no tariff has been downloaded yet. */
  quote?: Quote | null;
}

/** A recorded cash handover, and whether its slip printed (a printer fault never undoes it). */
export type RecordedHandover = Handover & { slipPrinted: boolean };

/** A day's handovers: `closed` while the last one closes the day (no check-in since). */
export interface DayHandovers {
  closed: boolean;
  handovers: Handover[];
}

/** GET /v1/tasks: the task list with each task's state, and what is left of the day. */
export interface TaskList {
  courier: { id: string; name: string } | null;
  tasks: Array<Task & { done: boolean; state: TaskState; reason?: string }>;
  summary: { total: number; open: number; done: number; exceptions: number; codToCollect: number; currency: string };
}

/** GET /v1/waybills/{id} without its card payments (the payment service has those). */
export type WaybillHistory = WaybillStanding & {
  waybill: string;
  tasks: Array<Task & { state: TaskState; reason?: string }>;
  events: WaybillHistoryEvent[];
};

export class WorkflowService implements Service {
  readonly name = 'workflow';
  private state: Health = { state: 'stopped' };
  private operatorPattern: RegExp | undefined;

  /** The courier checked in on this terminal (waybill events are recorded under them). */
  private courier: { id: string; name: string } | undefined;
  /** Wrong PINs in a row, and until when check-in is refused after too many. */
  private failedCheckIns = 0;
  private lockedUntil = 0;
  /** The check-in running now: the next waits for it, so the lockout counts every wrong PIN before another is tried. */
  private checkInTurn: Promise<unknown> = Promise.resolve();
  /**
   * Card payments named by a delivery being recorded (journal id -> waybill): the record is
   * durable only after the outbox's group commit, and a second delivery checked meanwhile must
   * not collect with the same payment.
   */
  private readonly collecting = new Map<string, string>();
  /** The same for QR payments (QR journal id -> waybill): another journal, its own ids. */
  private readonly collectingQr = new Map<string, string>();
  /** The handover table of each spool opened (the spool is reopened after a restore). */
  private readonly handoverBooks = new WeakMap<Spool, HandoverBook>();

  constructor(
    private readonly config: Config,
    private readonly deps: {
      spool: () => Spool;
      events: EventBus;
      recordQueued?: () => void;
      /** Downloads the task list and couriers from the back-end into the spool's cache. */
      downloadTasks?: () => Promise<{
        tasks: number;
        couriers: number;
        tariffVersion?: string;
        tariffRefused?: string;
      }>;
      /** The receipt printer, when there is one: a delivery prints its receipt. */
      printer?: () => PrinterDriver | undefined;
      clock?: () => number;
    },
  ) {}

  /**
   * Checks a courier in with their PIN, offline, against the couriers cached from the
   * back-end. Five wrong PINs in a row refuse check-in for five minutes. The PIN is verified
   * off the main thread (courier-pin.ts), and check-ins run one after another: attempts sent
   * together cannot all be verified before the lockout counts them.
   */
  checkIn(courierId: unknown, pin: unknown): Promise<{ courier: { id: string; name: string } }> {
    const attempt = this.checkInTurn.then(() => this.checkInNow(courierId, pin));
    this.checkInTurn = attempt.catch(() => undefined);
    return attempt;
  }

  private async checkInNow(courierId: unknown, pin: unknown): Promise<{ courier: { id: string; name: string } }> {
    const now = (this.deps.clock ?? Date.now)();
    if (now < this.lockedUntil)
      throw new PosError(
        'CODPOS_USAGE_CHECK_IN_LOCKED',
        `too many wrong PINs: check-in is refused for ${Math.ceil((this.lockedUntil - now) / 1000)} s more`,
      );
    if (typeof courierId !== 'string' || typeof pin !== 'string' || !/^[0-9]{4,12}$/.test(pin))
      throw new PosError('CODPOS_USAGE_CHECK_IN', 'check-in needs courierId and a PIN of 4 to 12 digits');
    const known = this.deps.spool().tasks.courier(courierId);
    if (!known || !(await verifyCourierPin(pin, known.pinHash))) {
      if (++this.failedCheckIns >= 5) {
        this.lockedUntil = now + 5 * 60_000;
        this.failedCheckIns = 0;
      }
      this.deps.events.publish('courier.check-in-failed', { courierId });
      throw new PosError(
        'CODPOS_USAGE_CHECK_IN',
        known
          ? 'wrong courier id or PIN'
          : `courier ${courierId} is not on this terminal's list (refresh the task list?)`,
      );
    }
    this.failedCheckIns = 0;
    this.courier = { id: known.id, name: known.name };
    // A check-in after the day's cash handover opens a new day.
    const today = localDateText(new Date(now));
    if (this.handovers().reopen(today, now))
      this.deps.events.publish('day.opened', { day: today, courierId: known.id });
    this.deps.events.publish('courier.checked-in', { courierId: known.id, name: known.name });
    return { courier: this.courier };
  }

  checkOut(): { courier: null } {
    if (this.courier) this.deps.events.publish('courier.checked-out', { courierId: this.courier.id });
    this.courier = undefined;
    return { courier: null };
  }

  /**
   * The cached task list, each task with its state (waybill-history.ts: done, exception with its
   * reason, open; `done` kept for the screen apps that read it) and a summary of what is left:
   * the tasks still open and the COD still to collect on them, in the terminal's currency.
   */
  tasks(): TaskList {
    const spool = this.deps.spool();
    const cached = spool.tasks.tasks();
    // From the events' index: the kinds and reasons of these waybills only, not every retained event.
    const events = spool.waybillEvents.standings(cached.map((task) => task.waybill));
    const tasks = cached.map((task) => {
      const standing = taskState(task, events.get(task.waybill) ?? []);
      return { ...task, done: standing.state === 'done', ...standing };
    });
    const count = (state: TaskState) => tasks.filter((task) => task.state === state).length;
    const codToCollect = tasks
      .filter((task) => task.state === 'open' && task.kind === 'delivery')
      .reduce((sum, task) => sum + task.codAmount, 0);
    return {
      courier: this.courier ?? null,
      tasks,
      summary: {
        total: tasks.length,
        open: count('open'),
        done: count('done'),
        exceptions: count('exception'),
        codToCollect,
        currency: this.config.terminal.currency,
      },
    };
  }

  /**
   * One waybill's tasks, its recorded events in order and the status they add up to. The number
   * is checked as a scan is (`CODPOS_USAGE_WAYBILL`); a waybill nothing is known of answers with
   * no task and no event (the API makes that a 404 when no payment names it either).
   */
  waybill(scanned: unknown): WaybillHistory {
    if (typeof scanned !== 'string')
      throw new PosError('CODPOS_USAGE_WAYBILL', 'waybill: expected the waybill number as text');
    const check = checkWaybill(scanned, this.operatorPattern ? { operatorPattern: this.operatorPattern } : {});
    if (!check.valid)
      throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, {
        details: { waybill: check.waybill },
      });
    const spool = this.deps.spool();
    const events = eventsByWaybill(spool.waybillEvents.records(check.waybill)).get(check.waybill) ?? [];
    const tasks = spool.tasks.tasksFor(check.waybill).map((task) => ({ ...task, ...taskState(task, events) }));
    return { waybill: check.waybill, ...waybillStanding(events), tasks, events };
  }

  /** Downloads the task list again (POST /v1/tasks/refresh). */
  async refreshTasks(): Promise<{ tasks: number; couriers: number; tariffVersion?: string; tariffRefused?: string }> {
    if (!this.deps.downloadTasks)
      throw new PosError('CODPOS_UPLINK_UNAVAILABLE', 'no back-end link to download the task list from');
    const counts = await this.deps.downloadTasks();
    this.deps.events.publish('tasks.updated', counts);
    return counts;
  }

  /** Prices a parcel with the cached tariff (GET /v1/quote); a USAGE error says what does not price. */
  quote(query: QuoteQuery): Quote {
    return quote({ ...query, tariff: this.cachedTariff() });
  }

  private cachedTariff(): Tariff {
    const tariff = this.tariffIfCached();
    if (!tariff)
      throw new PosError(
        'CODPOS_USAGE_NO_TARIFF',
        'no tariff has come with a task list yet: refresh the task list (POST /v1/tasks/refresh) once the back-end can be reached',
      );
    return tariff;
  }

  private tariffIfCached(): Tariff | undefined {
    const cached = this.deps.spool().tasks.tariff();
    return cached && readTariff(cached.body);
  }

  /**
   * A pickup's parcel: none when neither weight nor destination is given (a pickup as before);
   * both are needed to price it. Quoted with the cached tariff and, when the waybill is a pickup
   * on the task list, its COD amount; without a tariff yet, recorded unpriced (quote null) so
   * the courier's day goes on and the back-end prices it.
   */
  private pickupParcel(
    waybill: string,
    input: WaybillEventInput,
  ): { weightGrams: number; destination: string; service: string | null; quote: Quote | null } | undefined {
    const { weightGrams, destination, service } = input;
    if (weightGrams === undefined && destination === undefined && service === undefined) return undefined;
    if (weightGrams === undefined || destination === undefined)
      throw usage(
        `${weightGrams === undefined ? 'weightGrams' : 'destination'}: a pickup is priced from its weightGrams and destination; give both, or neither`,
      );
    if (typeof destination !== 'string' || normalizeDestination(destination) === '' || destination.length > 32)
      throw usage('destination: expected a postcode or an area code of at most 32 characters');
    if (typeof weightGrams !== 'number' || !Number.isSafeInteger(weightGrams) || weightGrams <= 0)
      throw usage(`weightGrams: expected a whole positive number of grams, not ${String(weightGrams)}`);
    if (service !== undefined && (typeof service !== 'string' || service === ''))
      throw usage('service: expected the name of a service of the tariff, e.g. standard');
    const tariff = this.tariffIfCached();
    if (!tariff)
      return { weightGrams, destination: normalizeDestination(destination), service: service ?? null, quote: null };
    const task = this.deps
      .spool()
      .tasks.tasksFor(waybill)
      .find((t) => t.kind === 'pickup');
    const codAmount = task?.codAmount ?? 0;
    if (task && codAmount > 0 && task.currency !== null && !sameCurrency(task.currency, tariff.currency)) {
      throw new PosError(
        'CODPOS_USAGE_TASK_CURRENCY',
        `waybill ${waybill}: its COD is in ${currencyText(task.currency)} on the task list, but tariff ${tariff.version} prices in ${currencyText(tariff.currency)}; have the task corrected by the back-end`,
        {
          details: { waybill, taskCurrency: task.currency, tariffCurrency: tariff.currency },
        },
      );
    }
    const priced = quote({
      tariff,
      destination,
      weightGrams,
      codAmount,
      ...(service !== undefined ? { service } : {}),
    });
    return { weightGrams, destination: normalizeDestination(destination), service: priced.service, quote: priced };
  }

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
    if (!check.valid)
      throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, {
        details: { waybill: check.waybill },
      });
    // Checked in the same turn as the enqueue below: a handover cannot slip in between.
    this.handovers().assertOpen(localDateText(new Date(this.now())), `${kind} of ${check.waybill}`);
    if (kind === 'exception') {
      // An own property only: `in` would also take inherited names such as __proto__ or toString.
      if (typeof input.reason !== 'string' || !Object.hasOwn(EXCEPTION_REASONS, input.reason))
        throw usage(`reason: an exception needs one of ${Object.keys(EXCEPTION_REASONS).join(', ')}`);
    } else if (input.reason !== undefined) {
      throw usage(`reason: only an exception has a reason, not a ${kind}`);
    }
    if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 500))
      throw usage('note: expected text of at most 500 characters');
    if (input.cod !== undefined && kind !== 'delivery')
      throw usage(`cod: only a delivery collects cash on delivery, not a ${kind}`);
    if (input.signature !== undefined && kind !== 'delivery')
      throw usage(`signature: only a delivery is signed for, not a ${kind}`);
    if (input.signature !== undefined) checkSignature(input.signature);
    for (const field of ['weightGrams', 'destination', 'service'] as const) {
      if (input[field] !== undefined && kind !== 'pickup')
        throw usage(`${field}: only a pickup is weighed and priced, not a ${kind}`);
    }
    const parcel = kind === 'pickup' ? this.pickupParcel(check.waybill, input) : undefined;
    const cod = kind === 'delivery' ? this.checkCod(check.waybill, input.cod) : undefined;
    const change = cod?.parts.some((part) => part.method === 'cash') ? cod.change : undefined;

    const at = new Date().toISOString();
    const payload = {
      kind,
      waybill: check.waybill,
      at,
      terminalId: this.config.terminal.id,
      ...(this.courier ? { courierId: this.courier.id } : {}),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.note !== undefined ? { note: input.note } : {}),
      // One collection keeps the shape the back-end has always had; parts go as a list.
      ...(cod ? { codDue: cod.due, cod: Array.isArray(input.cod) ? cod.parts : cod.parts[0] } : {}),
      // The parcel and its quote, for the back-end to bill the shipper with (null: not priced here).
      ...(parcel
        ? {
            weightGrams: parcel.weightGrams,
            destination: parcel.destination,
            service: parcel.service,
            quote: parcel.quote,
          }
        : {}),
      ...(input.signature
        ? {
            signature: {
              canvas: input.signature.canvas,
              strokes: input.signature.strokes,
              png: signaturePng(input.signature).toString('base64'),
            },
          }
        : {}),
    };
    const cardIds = (cod?.parts ?? []).flatMap((part) => (part.method === 'card' ? [part.journalId] : []));
    const qrIds = (cod?.parts ?? []).flatMap((part) => (part.method === 'qr' ? [part.qrPaymentId] : []));
    for (const journalId of cardIds) this.collecting.set(journalId, check.waybill);
    for (const qrPaymentId of qrIds) this.collectingQr.set(qrPaymentId, check.waybill);
    let id: string;
    try {
      ({ id } = await this.deps.spool().outbox.enqueue(STREAMS.waybillEvent, payload));
    } finally {
      for (const journalId of cardIds) this.collecting.delete(journalId);
      for (const qrPaymentId of qrIds) this.collectingQr.delete(qrPaymentId);
    }
    this.deps.events.publish(`waybill.${kind}`, {
      id,
      waybill: check.waybill,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
    });
    this.deps.recordQueued?.();
    const receiptPrinted = kind === 'delivery' ? await this.printDeliveryReceipt(check.waybill, input, cod) : undefined;
    return {
      id,
      kind,
      waybill: check.waybill,
      ...(change !== undefined ? { change } : {}),
      ...(receiptPrinted !== undefined ? { receiptPrinted } : {}),
      ...(parcel ? { quote: parcel.quote } : {}),
    };
  }

  private async printDeliveryReceipt(
    waybill: string,
    input: WaybillEventInput,
    cod: CheckedCod | undefined,
  ): Promise<boolean> {
    const printer = this.deps.printer?.();
    if (!printer) return false;
    const spool = this.deps.spool();
    const task = spool.tasks.tasksFor(waybill).find((t) => t.kind === 'delivery');
    try {
      await printer.print(
        buildDeliveryReceipt({
          profile: printer.profile,
          merchant: { name: this.config.terminal.merchantName, terminalId: this.config.terminal.id },
          at: new Date(),
          waybill,
          consignee: task?.consignee ?? null,
          ...(this.courier ? { courierId: this.courier.id } : {}),
          currency: this.config.terminal.currency,
          ...(cod
            ? {
                cod: {
                  due: cod.due,
                  parts: cod.parts.map((part) =>
                    part.method === 'cash'
                      ? part
                      : part.method === 'qr'
                        ? {
                            method: 'qr' as const,
                            amount: part.amount,
                            wallet: spool.qrJournal.get(part.qrPaymentId)?.wallet ?? null,
                          }
                        : {
                            method: 'card' as const,
                            amount: part.amount,
                            panLast4: lastFour(spool.journal.get(part.journalId)?.panMasked),
                          },
                  ),
                },
              }
            : {}),
          ...(input.signature ? { signature: renderSignature(input.signature, printer.profile.dots) } : {}),
        }),
      );
      return true;
    } catch (error) {
      this.deps.events.publish('receipt.failed', { waybill, reason: (error as Error).message });
      return false;
    }
  }

  /** The end-of-day report of `date` (YYYY-MM-DD, the terminal's local day; default today): day-report.ts, with its handovers. */
  report(date?: string): DayReport & DayHandovers {
    const day = this.day(date);
    return { ...dayReport(this.deps.spool(), day), ...this.handoversOf(day) };
  }

  /**
   * The courier hands the day's cash to the depot clerk (handover.ts): recorded with what was
   * expected and counted, queued for the back-end, the slip printed; then the courier is
   * checked out and the day closed until the next check-in.
   */
  async handOver(body: unknown): Promise<RecordedHandover> {
    const input = checkHandoverInput(body);
    const now = this.now();
    const day = localDateText(new Date(now));
    // A closed day says so before anything else: its courier has been checked out with it.
    this.handovers().assertNotHandedOver(day);
    const courier = this.courier;
    if (!courier)
      throw new PosError(
        'CODPOS_USAGE_NOT_CHECKED_IN',
        'a cash handover is made by the checked-in courier: check in first (POST /v1/courier/check-in)',
      );
    const spool = this.deps.spool();
    // Events still waiting for their group commit belong to the day: write them before counting.
    spool.outbox.flushNow();
    const handover = this.handovers().record({
      ...input,
      day,
      courierId: courier.id,
      currency: this.config.terminal.currency,
      terminalId: this.config.terminal.id,
      dayCash: dayReport(spool, day).cash.amount,
      at: now,
    });
    this.deps.events.publish('handover.recorded', {
      id: handover.id,
      day,
      courierId: courier.id,
      clerkId: handover.clerkId,
      expected: handover.expected,
      counted: handover.counted,
      difference: handover.difference,
    });
    this.deps.recordQueued?.();
    const slipPrinted = await this.printHandoverSlip(handover, courier);
    this.checkOut();
    this.deps.events.publish('day.closed', { day, handoverId: handover.id });
    return { ...handover, slipPrinted };
  }

  /** The handovers of `date` (default today) and whether the day is closed. */
  handoversOf(date?: string): DayHandovers & { day: string } {
    const day = this.day(date);
    const book = this.handovers();
    return { day, closed: book.closing(day) !== undefined, handovers: book.ofDay(day) };
  }

  private async printHandoverSlip(handover: Handover, courier: { id: string; name: string }): Promise<boolean> {
    const printer = this.deps.printer?.();
    if (!printer) return false;
    try {
      await printer.print(
        buildHandoverSlip({
          profile: printer.profile,
          merchant: { name: this.config.terminal.merchantName, terminalId: this.config.terminal.id },
          at: new Date(handover.at),
          handoverId: handover.id,
          day: handover.day,
          courier,
          clerkId: handover.clerkId,
          currency: handover.currency,
          expected: handover.expected,
          counted: handover.counted,
          ...(handover.reason !== undefined ? { reason: handover.reason } : {}),
        }),
      );
      return true;
    } catch (error) {
      this.deps.events.publish('receipt.failed', { handoverId: handover.id, reason: (error as Error).message });
      return false;
    }
  }

  private handovers(): HandoverBook {
    const spool = this.deps.spool();
    let book = this.handoverBooks.get(spool);
    if (!book) this.handoverBooks.set(spool, (book = new HandoverBook(spool)));
    return book;
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  /** `date` checked as YYYY-MM-DD, or today (the terminal's local day). */
  private day(date: string | undefined): string {
    const day = date ?? localDateText(new Date(this.now()));
    const parts = isoDateParts(day);
    if (!parts) throw usage(`date: expected YYYY-MM-DD, not ${day}`);
    if (!isCalendarDay(parts.year, parts.month, parts.day)) {
      throw new PosError('CODPOS_USAGE_BAD_DATE', `date: ${day} is not a day of the calendar`, {
        details: { parameter: 'date' },
      });
    }
    return day;
  }

  /**
   * A delivery on the task list must collect exactly the COD amount due (or nothing when none
   * is due), a card part counting what its issuer approved. A waybill not on the list (added at
   * the door, list not downloaded) is taken as given. A card or QR payment pays one delivery only.
   */
  private checkCod(waybill: string, cod: unknown): CheckedCod | undefined {
    const spool = this.deps.spool();
    const task = spool.tasks.tasksFor(waybill).find((t) => t.kind === 'delivery');
    if (task) checkTaskCurrency(task, this.config.terminal.currency);
    return checkCod(cod, {
      waybill,
      due: task?.codAmount,
      currency: this.config.terminal.currency,
      journal: (journalId) => spool.journal.get(journalId),
      collectedBy: (journalId) => {
        const inFlight = this.collecting.get(journalId);
        if (inFlight !== undefined) return { waybill: inFlight };
        return deliveryCollectedWith(spool, 'card', journalId);
      },
      qrPayment: (qrPaymentId) => spool.qrJournal.get(qrPaymentId),
      qrCollectedBy: (qrPaymentId) => {
        const inFlight = this.collectingQr.get(qrPaymentId);
        if (inFlight !== undefined) return { waybill: inFlight };
        return deliveryCollectedWith(spool, 'qr', qrPaymentId);
      },
    });
  }
}

/**
 * The recorded delivery (the latest, if several) that collected with card payment `journalId`
 * (or QR payment `id`, for `qr`).
 * SQLite picks the few events whose text names the payment; only those are parsed and checked:
 * reading and parsing every event of the stream in JavaScript, once per card delivery, cost the
 * main thread time in proportion to the spool's size.
 */
function deliveryCollectedWith(
  spool: Spool,
  method: 'card' | 'qr',
  id: string,
): { waybill: string; eventId: string } | undefined {
  const needle = `"${method === 'card' ? 'journalId' : 'qrPaymentId'}":${JSON.stringify(id)}`;
  const rows = spool.db
    .prepare(`SELECT id, payload FROM outbox WHERE stream = ? AND instr(payload, ?) > 0 ORDER BY seq DESC`)
    .all(STREAMS.waybillEvent, needle) as Array<{ id: string; payload: string }>;
  for (const row of rows) {
    const event = JSON.parse(row.payload) as { kind?: string; waybill?: string; cod?: unknown };
    if (event.kind !== 'delivery') continue;
    const names = (part: RecordedPart) =>
      method === 'card'
        ? part.method === 'card' && part.journalId === id
        : part.method === 'qr' && part.qrPaymentId === id;
    if (recordedParts(event.cod).some(names)) return { waybill: event.waybill ?? '', eventId: row.id };
  }
  return undefined;
}

/** The last four digits of a journal row's masked PAN (first six and last four at most), for a receipt. */
function lastFour(panMasked: string | null | undefined): string | null {
  const match = panMasked ? /([0-9]{4})$/.exec(panMasked) : null;
  return match ? match[1]! : null;
}

/**
 * A task whose COD is due in a currency other than the terminal's cannot be collected here: the
 * terminal would book (and the acquirer settle) the amount in its own currency. A task without a
 * currency is due in the terminal's; a numeric (840) and an alphabetic (USD) code are both understood.
 */
export function checkTaskCurrency(task: Pick<Task, 'waybill' | 'currency'>, terminalCurrency: string): void {
  if (task.currency === null || sameCurrency(task.currency, terminalCurrency)) return;
  throw new PosError(
    'CODPOS_USAGE_TASK_CURRENCY',
    `waybill ${task.waybill}: its COD is due in ${currencyText(task.currency)} on the task list, but this terminal collects in ${currencyText(terminalCurrency)}; have the task corrected by the back-end`,
    { details: { waybill: task.waybill, taskCurrency: task.currency, terminalCurrency } },
  );
}

function usage(message: string): PosError {
  return new PosError('CODPOS_USAGE_WAYBILL_EVENT', message);
}
