/**
 * Partial approvals (ISO 8583 response 10, the approved amount in the answer's DE4), and the
 * other approval codes: booked at what the issuer approved, or reversed when the terminal
 * does not take partial approvals. A bare TCP acquirer answers what each
 * test scripts; a real spool file.
 */
import t from 'tap';
import { HostClient } from '../../../runtime/host/client.js';
import type { IsoFields, IsoMessage } from '../../../emv/iso8583/index.js';
import { STREAMS } from '../../../spool/index.js';
import { TERMINAL, answeringLink, firstQueued, openSpool } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const card = { pan: VISA_PAN, expiry: '2812' };

/** Answers a 0200 with `code` and DE4 `approved` (a partial approval's amount); reversals 00. */
function acquirer(code: string, approved?: string) {
  return (request: IsoMessage): IsoFields => {
    if (request.mti !== '0200') return { 39: '00' };
    const fields: IsoFields = { 39: code, 38: '123456' };
    if (approved !== undefined) fields[4] = approved;
    return fields;
  };
}

t.test('a partial approval is booked at the approved amount from DE4, not the amount asked', async (t) => {
  const { mux, seen } = await answeringLink(t, acquirer('10', '000000001800'));
  const spool = await openSpool(t);
  const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
  const result = await client.purchase({
    amount: 2500,
    card,
    posEntryMode: '012',
    begin: { amount: 2500, currency: '840', pan: VISA_PAN },
  });
  t.match(result, { outcome: 'approved', responseCode: '10', approvedAmount: 1800 });
  t.match(spool.journal.get(result.journalId!), {
    state: 'approved',
    amount: 2500,
    approvedAmount: 1800,
    responseCode: '10',
  });
  t.same(spool.journal.totals(1).purchase, { count: 1, amount: 1800 }, 'the settlement counts what was approved');
  t.same(
    seen.map((m) => m.mti),
    ['0200'],
    'nothing reversed',
  );
});

t.test(
  'the completion advice of a partial chip approval carries the approved amount in DE4, not the amount asked',
  async (t) => {
    const { mux } = await answeringLink(t, acquirer('10', '000000001800'));
    const spool = await openSpool(t);
    const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const result = await client.purchase({
      amount: 2500,
      card,
      posEntryMode: '051',
      iccData: Buffer.from('9F2701809F2608AABBCCDDEEFF0011', 'hex'),
      begin: { amount: 2500, currency: '840', pan: VISA_PAN },
      awaitCompletion: true,
    });
    client.complete(result, { finalIccData: Buffer.from('9F2701409F26081122334455667788', 'hex') });
    const advice = firstQueued(spool, STREAMS.advice);
    t.equal(advice.mti, '0220');
    t.equal(advice.fields[4], '000000001800');
  },
);

t.test('a full approval (00, 08, 11) is booked at the amount asked, whatever DE4 echoes', async (t) => {
  for (const code of ['00', '08', '11']) {
    const { mux } = await answeringLink(t, acquirer(code, '000000000001'));
    const spool = await openSpool(t);
    const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const result = await client.purchase({
      amount: 2500,
      card,
      posEntryMode: '012',
      begin: { amount: 2500, currency: '840', pan: VISA_PAN },
    });
    t.match(result, { outcome: 'approved', responseCode: code, approvedAmount: 2500 }, code);
    t.equal(spool.journal.get(result.journalId!)!.approvedAmount, 2500);
  }
});

t.test('a terminal that does not take partial approvals reverses one at once; the payment is declined', async (t) => {
  const { mux, seen } = await answeringLink(t, acquirer('10', '000000001800'));
  const spool = await openSpool(t);
  const client = new HostClient({
    mux,
    spool,
    context: TERMINAL,
    responseTimeoutMs: 10_000,
    partialApprovals: 'reverse',
  });
  const result = await client.purchase({
    amount: 2500,
    card,
    posEntryMode: '012',
    begin: { amount: 2500, currency: '840', pan: VISA_PAN },
  });
  t.match(result, { outcome: 'declined', responseCode: '10' });
  t.equal(result.approvedAmount, undefined);
  await client.sendPending();
  t.same(
    seen.map((m) => m.mti),
    ['0200', '0400'],
    'reversed',
  );
  t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
  t.match(spool.journal.history(result.journalId!), [
    { to: 'pending' },
    { to: 'reversal_pending', reason: /partial approval \(1800 of 2500\) not accepted by this terminal/ },
    { to: 'reversed' },
  ]);
  t.same(spool.journal.totals(1).purchase, { count: 0, amount: 0 });
});

t.test(
  'a partial approval with no amount, or more than asked, cannot be booked: the request is reversed',
  async (t) => {
    for (const de4 of [undefined, '000000002600', '000000000000']) {
      const { mux, seen } = await answeringLink(t, acquirer('10', de4));
      const spool = await openSpool(t);
      const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
      let journalId: string | undefined;
      // With no DE4 in the answer the response echoes none: readResponse's check gives the amount asked.
      const error = await client
        .purchase({
          amount: 2500,
          card,
          posEntryMode: '012',
          begin: { amount: 2500, currency: '840', pan: VISA_PAN },
          onJournaled: (row) => (journalId = row.id),
        })
        .catch((e: unknown) => e);
      if (de4 === undefined) {
        // buildResponse echoes the request's DE4 when the answer names none: a "partial" of the full amount.
        t.match(error, { outcome: 'approved', approvedAmount: 2500 }, 'echoed DE4: the full amount');
        continue;
      }
      t.match(
        error,
        { code: 'CODPOS_HOST_BAD_RESPONSE', message: /partial approval \(10\) must carry the approved amount in DE4/ },
        de4,
      );
      t.same(
        seen.map((m) => m.mti),
        ['0200', '0400'],
      );
      t.equal(spool.journal.get(journalId!)!.state, 'reversed');
    }
  },
);
