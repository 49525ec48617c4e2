/**
 * Terminal action analysis (EMV Book 3 10.7): the TVR against the Terminal Action
 * Codes (configuration) and the Issuer Action Codes (card, 9F0D/9F0E/9F0F).
 * Absent IACs default to 00..00 for denial and FF..FF for online and default.
 */
import type { TransactionContext } from './context.js';

export type Decision = 'AAC' | 'TC' | 'ARQC';

function matches(tvr: Buffer, ...codes: Buffer[]): boolean {
  for (let i = 0; i < 5; i++) {
    let mask = 0;
    for (const code of codes) mask |= code[i] ?? 0;
    if ((tvr[i]! & mask) !== 0) return true;
  }
  return false;
}

function codes(ctx: TransactionContext) {
  const app = ctx.application!;
  return {
    tacDenial: Buffer.from(app.tacDenial, 'hex'),
    tacOnline: Buffer.from(app.tacOnline, 'hex'),
    tacDefault: Buffer.from(app.tacDefault, 'hex'),
    iacDenial: ctx.card.get(0x9f0e) ?? Buffer.alloc(5, 0x00),
    iacOnline: ctx.card.get(0x9f0f) ?? Buffer.alloc(5, 0xff),
    iacDefault: ctx.card.get(0x9f0d) ?? Buffer.alloc(5, 0xff),
  };
}

/** The cryptogram to ask for in the first GENERATE AC. */
export function terminalActionAnalysis(ctx: TransactionContext): Decision {
  const c = codes(ctx);
  const tvr = ctx.tvr.bytes;
  if (matches(tvr, c.tacDenial, c.iacDenial)) return 'AAC';
  if (ctx.terminal.onlineCapable) return matches(tvr, c.tacOnline, c.iacOnline) ? 'ARQC' : 'TC';
  return defaultActionAnalysis(ctx);
}

/** Book 3 10.7 "default" check: offline-only terminals, and online ones that could not go online. */
export function defaultActionAnalysis(ctx: TransactionContext): 'AAC' | 'TC' {
  const c = codes(ctx);
  return matches(ctx.tvr.bytes, c.tacDefault, c.iacDefault) ? 'AAC' : 'TC';
}
