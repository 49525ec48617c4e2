/**
 * Which card payments `GET /v1/payments` (and `codpos payments list`) asks the journal for:
 * one day (`date`) or a range of days (`from`, `to`, both inclusive), a journal state, a
 * waybill. Days are the terminal's local calendar days, as the receipts print them, turned into
 * a range of instants here so the journal filters in SQL. Each mistake is a 400 naming it.
 */
import { isCalendarDay, isoDateParts } from '../../config/calendar.js';
import { PosError } from '../../config/errors.js';
import { TXN_STATES, type TxnState } from '../../spool/index.js';
import { checkWaybill } from '../workflow/waybill.js';
import { localDateText } from './receipt.js';

export const PAYMENT_QUERY_PARAMETERS = ['date', 'from', 'to', 'state', 'waybill'] as const;

export interface PaymentQuery {
  date?: string;
  from?: string;
  to?: string;
  state?: string;
  waybill?: string;
}

/** The checked query: what the answer echoes, and the journal filter it stands for. */
export interface CheckedPaymentQuery {
  /** What the answer says it selected (`date` for one day, `from`/`to` for a range, none: every kept day). */
  echo: { date?: string; from?: string; to?: string; state?: TxnState; waybill?: string };
  filter: { state?: TxnState; waybill?: string; createdFrom?: number; createdBefore?: number };
}

/**
 * Checks a query. Without `date`, `from` or `to` it selects today, except when it names a
 * waybill: a waybill's payments are wanted whatever day they were taken (every kept day).
 */
export function checkPaymentQuery(
  query: PaymentQuery,
  options: { today?: Date; operatorPattern?: RegExp } = {},
): CheckedPaymentQuery {
  const today = options.today ?? new Date();
  if (query.date !== undefined && (query.from !== undefined || query.to !== undefined)) {
    throw badQuery('date', 'give either date (one day) or from/to (a range of days), not both');
  }
  const echo: CheckedPaymentQuery['echo'] = {};
  const filter: CheckedPaymentQuery['filter'] = {};
  if (query.state !== undefined) {
    if (!(TXN_STATES as readonly string[]).includes(query.state))
      throw badQuery('state', `expected one of ${TXN_STATES.join(', ')}, not "${query.state}"`);
    echo.state = filter.state = query.state as TxnState;
  }
  if (query.waybill !== undefined) {
    const check = checkWaybill(
      query.waybill,
      options.operatorPattern ? { operatorPattern: options.operatorPattern } : {},
    );
    if (!check.valid)
      throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, {
        details: { parameter: 'waybill', waybill: check.waybill },
      });
    echo.waybill = filter.waybill = check.waybill;
  }
  if (query.from !== undefined || query.to !== undefined) {
    const from = query.from === undefined ? undefined : dayStart('from', query.from);
    const to = query.to === undefined ? undefined : dayStart('to', query.to);
    if (from !== undefined && to !== undefined && from.getTime() > to.getTime())
      throw badQuery('from', `${query.from} is after to ${query.to}`);
    if (from !== undefined) {
      echo.from = query.from!;
      filter.createdFrom = from.getTime();
    }
    if (to !== undefined) {
      echo.to = query.to!;
      filter.createdBefore = nextDay(to).getTime();
    }
  } else if (query.date !== undefined || query.waybill === undefined) {
    const date = query.date ?? localDateText(today);
    const start = dayStart('date', date);
    echo.date = date;
    filter.createdFrom = start.getTime();
    filter.createdBefore = nextDay(start).getTime();
  }
  return { echo, filter };
}

/** The query parameters of a request: the known ones, each once; anything else is a 400 naming it. */
export function paymentQueryOf(parameters: URLSearchParams): PaymentQuery {
  const query: PaymentQuery = {};
  for (const name of new Set(parameters.keys())) {
    if (!(PAYMENT_QUERY_PARAMETERS as readonly string[]).includes(name))
      throw badQuery(name, `unknown parameter; GET /v1/payments takes ${PAYMENT_QUERY_PARAMETERS.join(', ')}`);
    const values = parameters.getAll(name);
    if (values.length > 1) throw badQuery(name, 'given more than once');
    query[name as keyof PaymentQuery] = values[0]!;
  }
  return query;
}

/** Local midnight starting YYYY-MM-DD; a date that is not on the calendar (2026-02-30) is refused. */
function dayStart(parameter: string, text: string): Date {
  const parts = isoDateParts(text);
  if (!parts) throw badDate(parameter, `expected YYYY-MM-DD, not ${text}`);
  if (!isCalendarDay(parts.year, parts.month, parts.day))
    throw badDate(parameter, `${text} is not a day of the calendar`);
  return new Date(parts.year, parts.month - 1, parts.day);
}

/** The next local midnight (a day is 23 or 25 hours long when daylight saving time changes). */
function nextDay(start: Date): Date {
  return new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1);
}

function badDate(parameter: string, message: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_DATE', `${parameter}: ${message}`, { details: { parameter } });
}

function badQuery(parameter: string, message: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_QUERY', `${parameter}: ${message}`, { details: { parameter } });
}
