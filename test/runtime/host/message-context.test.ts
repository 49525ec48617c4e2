/**
 * The MessageContext the host link builds its messages with (runtime/host/service.ts): the
 * terminal's time zone for DE12/DE13, DE18 when the host's dialect has it, and the DE25 codes
 * a reversal's reason takes by the dialect's DE25.
 */
import t from 'tap';
import { validateConfig } from '../../../config/load.js';
import { messageContextOf } from '../../../runtime/host/service.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { buildPurchase, stanCounter } from '../../../emv/iso8583/index.js';

t.test("the terminal's time zone and merchant category code reach every message", async (t) => {
  const config = validateConfig({ terminal: { timeZone: 'Asia/Tokyo', merchantCategoryCode: '4215' } });
  const context = messageContextOf(config, hostDialect(config.host));
  t.equal(context.timeZone, 'Asia/Tokyo');
  t.equal(context.merchantCategoryCode, '4215');
  t.equal(context.reversalReasonLayout, '1987', 'pos87b: DE25 is n2');
  const purchase = buildPurchase(
    { amount: 100, card: { pan: '4761739001010119' }, posEntryMode: '051' },
    { ...context, clock: () => new Date('2026-11-29T22:30:00Z'), nextStan: stanCounter() },
  );
  t.same(
    [purchase.fields[13], purchase.fields[12], purchase.fields[18]],
    ['1130', '073000', '4215'],
    'the next day in Tokyo, with DE18',
  );
});

t.test("no DE18 when the host's dialect drops it; 4-digit reason codes when its DE25 is n4", async (t) => {
  const dropped = validateConfig({ host: { fieldOverrides: { 18: null } } });
  t.equal(messageContextOf(dropped, hostDialect(dropped.host)).merchantCategoryCode, undefined);
  const iso93 = validateConfig({ host: { dialect: 'iso93b' } });
  t.equal(messageContextOf(iso93, hostDialect(iso93.host)).reversalReasonLayout, '1993');
});
