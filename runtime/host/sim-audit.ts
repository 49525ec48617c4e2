/**
 * What an acquirer's certification engineer checks in a terminal's traffic, kept by the
 * acquirer simulator as the requests come:
 *
 * - a new message (0200, 0220, 0400; not the repeats 0221/0401) under a STAN the terminal
 *   already used;
 * - a new 0200 sent while an earlier 0200 of the terminal is still unanswered (the simulator
 *   stayed silent, dropped the link, or still holds a late answer) and not reversed: reversal
 *   first means the terminal reverses the unknown outcome before anything else;
 * - unanswered 0200s that no reversal (0400/0401 whose DE90 names them) ever came for.
 *
 * It assumes what codpos does: one financial request of a terminal in flight at a time.
 * Memory is bounded: per terminal the last `stanWindow` STANs, at most `maxUnanswered`
 * unanswered 0200s and `maxFindings` findings of each kind; at most `maxTerminals` terminals
 * (the least recently heard from is forgotten first). What is pruned is counted in `pruned`.
 */

export interface SimAuditLimits {
  /** STANs remembered per terminal (default 10,000: a STAN wraps only after 999,999). */
  stanWindow?: number;
  /** Unanswered, unreversed 0200s remembered per terminal (default 1,000). */
  maxUnanswered?: number;
  /** Findings kept per kind per terminal (default 1,000). */
  maxFindings?: number;
  /** Terminals remembered (default 1,000). */
  maxTerminals?: number;
}

export interface StanReuse {
  terminalId: string;
  /** The message that reused the STAN. */
  mti: string;
  stan: string;
  /** The message type that used it first. */
  firstMti: string;
}

export interface FinancialBeforeReversal {
  terminalId: string;
  /** The new 0200's STAN. */
  stan: string;
  /** STANs of the earlier 0200s that were unanswered and not yet reversed. */
  unreversed: string[];
}

export interface UnreversedRequest {
  terminalId: string;
  stan: string;
  /** Minor units (DE4). */
  amount: number;
  /** Why the terminal had no answer: 'no answer', 'dropped the connection', 'answer not delivered', or 'answer held back' (a late answer not yet sent). */
  why: string;
}

export interface TerminalBook {
  terminalId: string;
  /** Approved purchases and advices on the host's book, not reversed or voided. */
  count: number;
  /** Their approved amounts (a partial approval at the amount approved), minor units. */
  amount: number;
}

export interface SimAudit {
  stanReused: StanReuse[];
  financialBeforeReversal: FinancialBeforeReversal[];
  unreversed: UnreversedRequest[];
  book: TerminalBook[];
  /** Findings, STANs, terminals or booked transactions forgotten to keep memory bounded (0 in any test-sized day). */
  pruned: number;
  /** No STAN reused, no financial request before a reversal, nothing left unreversed. */
  clean: boolean;
}

interface PendingRequest {
  stan: string;
  amount: number;
  /** undefined while its answer may still come (a late one). */
  why: string | undefined;
}

interface TerminalTrail {
  /** STAN -> the MTI that used it first; insertion order is age. */
  stans: Map<string, string>;
  /** 0200s without a delivered answer, by STAN. */
  pending: Map<string, PendingRequest>;
  stanReused: StanReuse[];
  financialBeforeReversal: FinancialBeforeReversal[];
}

const NEW_MESSAGES = new Set(['0200', '0220', '0400']);

export class SimAuditTrail {
  private readonly terminals = new Map<string, TerminalTrail>();
  private readonly stanWindow: number;
  private readonly maxUnanswered: number;
  private readonly maxFindings: number;
  private readonly maxTerminals: number;
  private pruned = 0;

  constructor(limits: SimAuditLimits = {}) {
    this.stanWindow = limits.stanWindow ?? 10_000;
    this.maxUnanswered = limits.maxUnanswered ?? 1_000;
    this.maxFindings = limits.maxFindings ?? 1_000;
    this.maxTerminals = limits.maxTerminals ?? 1_000;
  }

  /**
   * A request arrived. `original` is DE90's original MTI and STAN. A 0200 is then pending
   * until `answered` (or `unanswered`) is called for it.
   */
  request(
    terminalId: string,
    mti: string,
    stan: string,
    amount: number,
    original?: { mti: string; stan: string },
  ): void {
    const trail = this.trail(terminalId);
    if (NEW_MESSAGES.has(mti)) {
      // A host configured with host.reversalStan "original" gets the 0400 under the STAN it reverses: not a reuse.
      const sameAsOriginal = mti === '0400' && original?.stan === stan;
      const firstMti = trail.stans.get(stan);
      if (firstMti !== undefined && !sameAsOriginal) this.note(trail.stanReused, { terminalId, mti, stan, firstMti });
      if (firstMti === undefined) {
        trail.stans.set(stan, mti);
        if (trail.stans.size > this.stanWindow) this.dropOldest(trail.stans);
      }
    }
    if ((mti === '0400' || mti === '0401') && original?.mti === '0200') trail.pending.delete(original.stan);
    if (mti === '0200') {
      const waiting = [...trail.pending.values()].map((p) => p.stan);
      if (waiting.length > 0) this.note(trail.financialBeforeReversal, { terminalId, stan, unreversed: waiting });
      trail.pending.set(stan, { stan, amount, why: undefined });
      if (trail.pending.size > this.maxUnanswered) this.dropOldest(trail.pending);
    }
  }

  /** Something the host kept beside the trail (its book) was forgotten to bound memory: counted in `pruned`. */
  forgotten(): void {
    this.pruned++;
  }

  /** The 0200's answer was written to the terminal's connection. */
  answered(terminalId: string, stan: string): void {
    // A reversal may have come while a late answer was held: then there is nothing left to settle.
    this.terminals.get(terminalId)?.pending.delete(stan);
  }

  /** The 0200 will never be answered (silent, dropped, or its connection closed before a late answer). */
  unanswered(terminalId: string, stan: string, why: string): void {
    const pending = this.terminals.get(terminalId)?.pending.get(stan);
    if (pending !== undefined) pending.why = why;
  }

  /** The audit of one terminal, or of every terminal; `books` are the host's totals. */
  report(books: TerminalBook[], terminalId?: string): SimAudit {
    const ids = terminalId === undefined ? [...this.terminals.keys()] : [terminalId];
    const audit: SimAudit = {
      stanReused: [],
      financialBeforeReversal: [],
      unreversed: [],
      book: [],
      pruned: this.pruned,
      clean: true,
    };
    for (const id of ids) {
      const trail = this.terminals.get(id);
      if (!trail) continue;
      audit.stanReused.push(...trail.stanReused);
      audit.financialBeforeReversal.push(...trail.financialBeforeReversal);
      for (const pending of trail.pending.values()) {
        audit.unreversed.push({
          terminalId: id,
          stan: pending.stan,
          amount: pending.amount,
          why: pending.why ?? 'answer held back',
        });
      }
    }
    audit.book = terminalId === undefined ? books : books.filter((b) => b.terminalId === terminalId);
    audit.clean =
      audit.stanReused.length === 0 && audit.financialBeforeReversal.length === 0 && audit.unreversed.length === 0;
    return audit;
  }

  private trail(terminalId: string): TerminalTrail {
    let trail = this.terminals.get(terminalId);
    if (trail) {
      // Most recently heard from goes last, so the first is the one to forget.
      this.terminals.delete(terminalId);
    } else {
      trail = { stans: new Map(), pending: new Map(), stanReused: [], financialBeforeReversal: [] };
    }
    this.terminals.set(terminalId, trail);
    if (this.terminals.size > this.maxTerminals) this.dropOldest(this.terminals);
    return trail;
  }

  private note<T>(findings: T[], finding: T): void {
    findings.push(finding);
    if (findings.length > this.maxFindings) {
      findings.shift();
      this.pruned++;
    }
  }

  private dropOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
    this.pruned++;
  }
}
