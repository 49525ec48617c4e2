/**
 * The PSP simulator's behaviours (docs/psp.md, "Simulator behaviours"): what it does with an
 * order, set for the next order or for every order of an amount. The default is `approve`.
 *
 *   approve            the wallet's choice stands (a scan with `pay` pays the order)
 *   decline            the PSP declines the payment whatever the wallet chose
 *   slow <ms>          the answer to the create (or consumer payment) is held back <ms>
 *   lose-notification  the order's notification is never sent
 *   late-status <n>    after the payment, the first <n> status queries still say `waiting`
 *   pay-after-give-up answer|no-answer
 *                      the wallet pays just as the terminal cancels: the cancel is answered
 *                      `paid`, or it gets no answer (connection dropped) and a later query says `paid`
 *   unavailable 503|drop
 *                      the create (or consumer payment) is answered 503 and not taken, or taken
 *                      and its connection dropped before the answer
 */
import { PosError } from '../../config/errors.js';

export type SimBehaviour =
  | { kind: 'approve' }
  | { kind: 'decline' }
  | { kind: 'slow'; ms: number }
  | { kind: 'lose-notification' }
  | { kind: 'late-status'; queries: number }
  | { kind: 'pay-after-give-up'; cancel: 'answer' | 'no-answer' }
  | { kind: 'unavailable'; how: '503' | 'drop' };

export const APPROVE: SimBehaviour = { kind: 'approve' };

export class SimRules {
  private readonly next: SimBehaviour[] = [];
  private readonly byAmount = new Map<number, SimBehaviour>();

  /** The next order (after those already queued) gets this behaviour. */
  setNext(behaviour: SimBehaviour): void {
    this.next.push(behaviour);
  }

  /** Every order of this amount (minor units) gets this behaviour, unless a next one is queued. */
  setForAmount(amount: number, behaviour: SimBehaviour | undefined): void {
    if (behaviour === undefined) this.byAmount.delete(amount);
    else this.byAmount.set(amount, behaviour);
  }

  /** The behaviour of a new order: the next queued one, else its amount's, else approve. */
  take(amount: number): SimBehaviour {
    return this.next.shift() ?? this.byAmount.get(amount) ?? APPROVE;
  }

  clear(): void {
    this.next.length = 0;
    this.byAmount.clear();
  }

  describe(): { next: string[]; byAmount: Record<string, string> } {
    return {
      next: this.next.map(describeBehaviour),
      byAmount: Object.fromEntries([...this.byAmount].map(([amount, b]) => [String(amount), describeBehaviour(b)])),
    };
  }
}

export function describeBehaviour(behaviour: SimBehaviour): string {
  switch (behaviour.kind) {
    case 'slow':
      return `slow ${behaviour.ms}`;
    case 'late-status':
      return `late-status ${behaviour.queries}`;
    case 'pay-after-give-up':
      return `pay-after-give-up ${behaviour.cancel}`;
    case 'unavailable':
      return `unavailable ${behaviour.how}`;
    default:
      return behaviour.kind;
  }
}

function badBehaviour(text: string, why: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `behaviour "${text}": ${why}`, { details: { option: 'behaviour' } });
}

/** A behaviour as the console types it (`slow 5000`, `unavailable drop`); see the list above. */
export function parseBehaviour(words: readonly string[]): SimBehaviour {
  const [kind, arg, ...rest] = words;
  const text = words.join(' ');
  if (rest.length > 0) throw badBehaviour(text, 'too many words');
  const whole = (what: string): number => {
    if (arg === undefined || !/^[0-9]{1,7}$/.test(arg)) throw badBehaviour(text, `expected ${what}, a whole number`);
    return Number(arg);
  };
  const noArg = (behaviour: SimBehaviour): SimBehaviour => {
    if (arg !== undefined) throw badBehaviour(text, `${kind} takes no argument`);
    return behaviour;
  };
  switch (kind) {
    case 'approve':
    case 'decline':
    case 'lose-notification':
      return noArg({ kind });
    case 'slow':
      return { kind, ms: whole('the milliseconds') };
    case 'late-status':
      return { kind, queries: whole('the number of queries') };
    case 'pay-after-give-up':
      if (arg !== 'answer' && arg !== 'no-answer') throw badBehaviour(text, 'expected answer or no-answer');
      return { kind, cancel: arg };
    case 'unavailable':
      if (arg !== '503' && arg !== 'drop') throw badBehaviour(text, 'expected 503 or drop');
      return { kind, how: arg };
    default:
      throw badBehaviour(
        text,
        'expected approve, decline, slow <ms>, lose-notification, late-status <n>, pay-after-give-up answer|no-answer, unavailable 503|drop',
      );
  }
}
