/**
 * A card that answers garbage: every run ends in an outcome (terminated, declined, ...)
 * or a PosError, never a TypeError or RangeError. Seeded, so a failure is reproducible.
 */
import t from 'tap';
import { prng } from '../../helpers/prng.js';
import { PosError } from '../../../config/errors.js';
import { runTransaction } from '../../../emv/kernel/index.js';
import { card, issuerFor, terminal, transaction } from './fixtures.js';

t.test('mutated card answers end in outcomes or PosErrors only', async (t) => {
  const rnd = prng(77);
  const outcomes = new Map<string, number>();
  const others: string[] = [];
  for (let n = 0; n < 400; n++) {
    const name = ['visa-dda', 'mc-cda', 'sda'][n % 3]!;
    const c = card(name);
    const issuer = issuerFor(c);
    let exchange = 0;
    const target = Math.floor(rnd() * 20);
    const transmit = (apdu: Buffer) => {
      const answer = Buffer.from(c.transmit(apdu));
      if (exchange++ !== target || answer.length <= 2) return answer;
      const kind = Math.floor(rnd() * 3);
      const at = Math.floor(rnd() * (answer.length - 2));
      if (kind === 0) answer[at] = Math.floor(rnd() * 256);
      else if (kind === 1) return Buffer.concat([answer.subarray(0, at), answer.subarray(answer.length - 2)]);
      else answer[at] ^= 1 << Math.floor(rnd() * 8);
      return answer;
    };
    try {
      const result = await runTransaction({
        transmit,
        terminal: terminal(),
        transaction: transaction(),
        callbacks: {
          requestOnlinePin: () => Buffer.alloc(8, 0x11),
          goOnline: (r) => ({
            result: 'approved',
            responseCode: '00',
            issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
          }),
        },
      });
      outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
    } catch (error) {
      if (error instanceof PosError) outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      else if (others.length < 5) others.push(`${name} exchange ${target}: ${(error as Error).stack}`);
    }
  }
  t.same(others, [], 'no exception other than PosError');
  t.ok(
    (outcomes.get('terminated') ?? 0) > 0,
    `some sessions terminated (${JSON.stringify(Object.fromEntries(outcomes))})`,
  );
  t.ok((outcomes.get('approved') ?? 0) + (outcomes.get('declined') ?? 0) > 0, 'some went through');
});

t.test('bad transaction input is a PosError naming the field, before any APDU', async (t) => {
  const cases: Array<[Partial<Parameters<typeof transaction>[0]>, string, string]> = [
    [{ amount: -1 }, 'CODPOS_EMV_BAD_AMOUNT', 'amount'],
    [{ amount: 12.5 }, 'CODPOS_EMV_BAD_AMOUNT', 'amount'],
    [{ amount: Number.NaN }, 'CODPOS_EMV_BAD_AMOUNT', 'amount'],
    [{ amount: 1e12 }, 'CODPOS_EMV_BAD_AMOUNT', 'amount'],
    [{ otherAmount: -5 }, 'CODPOS_EMV_BAD_AMOUNT', 'otherAmount'],
    [{ sequenceCounter: -1 }, 'CODPOS_EMV_BAD_AMOUNT', 'sequenceCounter'],
    [{ date: new Date('not a date') }, 'CODPOS_EMV_BAD_TRANSACTION', 'date'],
    [{ currencyCode: 'EUR' }, 'CODPOS_EMV_BAD_TRANSACTION', 'currencyCode'],
    [{ transactionType: '0' }, 'CODPOS_EMV_BAD_TRANSACTION', 'transactionType'],
    [{ unpredictableNumber: Buffer.from('1234', 'hex') }, 'CODPOS_EMV_BAD_TRANSACTION', 'unpredictableNumber'],
  ];
  for (const [change, code, field] of cases) {
    const c = card('visa-dda');
    const apdus: Buffer[] = [];
    await t.rejects(
      runTransaction({
        transmit: (apdu) => (apdus.push(apdu), c.transmit(apdu)),
        terminal: terminal(),
        transaction: transaction(change),
        callbacks: { goOnline: () => ({ result: 'unable' }) },
      }),
      { code, details: { field } },
      `${JSON.stringify(change)} -> ${code} naming ${field}`,
    );
    t.equal(apdus.length, 0);
  }
});
