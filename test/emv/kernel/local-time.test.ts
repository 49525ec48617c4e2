/**
 * The kernel dates a transaction by the terminal's wall clock (TerminalConfig.timeZone), not
 * UTC: 9A and 9F21 in the chip data, and the expiry and effective-date checks that read 9A.
 * Card variants rewrite record 2.1, which breaks the static data signature, so the terminal
 * runs without ODA (9F33 byte 3 = 00) and only the date changes between runs.
 */
import t from 'tap';
import { decodeTlv, encodeTlv, findTag } from '../../../emv/tlv/index.js';
import type { CardProfile } from '../../../emv/card/index.js';
import { CardChannel, type OnlineRequest } from '../../../emv/kernel/index.js';
import { TransactionContext } from '../../../emv/kernel/context.js';
import { card, run, issuerFor, terminal, transaction } from './fixtures.js';

const NO_ODA = 'E068' + '00';

function withRecordTags(values: Record<string, string>) {
  return (p: CardProfile) => {
    const app = p.applications[0]!;
    const [template] = decodeTlv(Buffer.from(app.records['2.1']!, 'hex'));
    const children = template!.children!.filter((c) => !(c.tag.toString(16).toUpperCase() in values));
    for (const [tag, hex] of Object.entries(values))
      children.push({ tag: parseInt(tag, 16), value: Buffer.from(hex, 'hex') });
    app.records['2.1'] = encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children }]).toString('hex');
  };
}

function approving(c: ReturnType<typeof card>) {
  const issuer = issuerFor(c);
  return (r: OnlineRequest) => ({
    result: 'approved' as const,
    responseCode: '00',
    issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
  });
}

function tagHex(request: OnlineRequest, tag: number): string | undefined {
  return findTag(request.de55, tag)?.value.toString('hex');
}

/** 9A and 9F21 as the kernel sets them (9F21 is not in DE55, so it is read off the transaction's context). */
function localDateTime(timeZone: string, at: string): { date: string; time: string } {
  const ctx = new TransactionContext(
    new CardChannel(() => Buffer.from('9000', 'hex')),
    terminal({ timeZone }),
    transaction({ date: new Date(at) }),
    { goOnline: () => ({ result: 'unable' }) },
  );
  return { date: ctx.terminalData.get(0x9a)!.toString('hex'), time: ctx.terminalData.get(0x9f21)!.toString('hex') };
}

t.test('a sale at 22:30 UTC in Tokyo is dated the next day (9A) at 07:30 (9F21)', async (t) => {
  const at = new Date('2026-11-29T22:30:00Z');
  const tokyo = card('visa-dda');
  const { requests } = await run(tokyo, {
    terminal: { timeZone: 'Asia/Tokyo' },
    transaction: { date: at },
    host: approving(tokyo),
  });
  t.equal(tagHex(requests[0]!, 0x9a), '261130', 'the DE55 of the request dates it 30 November, local');
  t.same(localDateTime('Asia/Tokyo', at.toISOString()), { date: '261130', time: '073000' });

  // Control: the same instant on a box at UTC is still 29 November.
  const utc = card('visa-dda');
  const { requests: utcRequests } = await run(utc, {
    terminal: { timeZone: 'UTC' },
    transaction: { date: at },
    host: approving(utc),
  });
  t.equal(tagHex(utcRequests[0]!, 0x9a), '261129');
  t.same(localDateTime('UTC', at.toISOString()), { date: '261129', time: '223000' });
});

t.test('a box west of Greenwich keeps its evening sales on the local day', async (t) => {
  const c = card('visa-dda');
  const { requests } = await run(c, {
    terminal: { timeZone: 'America/Los_Angeles' },
    transaction: { date: new Date('2026-12-01T05:00:00Z') },
    host: approving(c),
  });
  t.equal(tagHex(requests[0]!, 0x9a), '261130', '21:00 on 30 November in Los Angeles');
  t.same(localDateTime('America/Los_Angeles', '2026-12-01T05:00:00Z'), { date: '261130', time: '210000' });
});

t.test('expiry on the last day of the month is checked against the local date', async (t) => {
  // The card expires on 30 November 2026 (5F24 261130): valid through that day, expired from 1 December.
  const expiresNov30 = withRecordTags({ '5F24': '261130' });
  const cases = [
    // 16:00 UTC on the 30th is 1 December 01:00 in Tokyo: expired there, not at UTC.
    { zone: 'Asia/Tokyo', at: '2026-11-30T16:00:00Z', expired: true },
    { zone: 'UTC', at: '2026-11-30T16:00:00Z', expired: false },
    // 05:00 UTC on 1 December is still the 30th, 21:00, in Los Angeles: valid there, expired at UTC.
    { zone: 'America/Los_Angeles', at: '2026-12-01T05:00:00Z', expired: false },
    { zone: 'UTC', at: '2026-12-01T05:00:00Z', expired: true },
  ];
  for (const { zone, at, expired } of cases) {
    const c = card('visa-dda', expiresNov30);
    const { result } = await run(c, {
      terminal: { capabilities: NO_ODA, timeZone: zone },
      transaction: { date: new Date(at) },
      host: approving(c),
    });
    t.equal(
      result.tvrBits.includes('expiredApplication'),
      expired,
      `${at} in ${zone}: ${expired ? 'expired' : 'not expired'} (TVR B2b7)`,
    );
  }
});

t.test('effective date: a card effective from 1 December is not yet effective on the 30th local time', async (t) => {
  const effectiveDec1 = withRecordTags({ '5F25': '261201' });
  const losAngeles = card('visa-dda', effectiveDec1);
  const { result: early } = await run(losAngeles, {
    terminal: { capabilities: NO_ODA, timeZone: 'America/Los_Angeles' },
    transaction: { date: new Date('2026-12-01T05:00:00Z') },
    host: approving(losAngeles),
  });
  t.ok(early.tvrBits.includes('applicationNotYetEffective'), 'still 30 November in Los Angeles');
  const utc = card('visa-dda', effectiveDec1);
  const { result: onTime } = await run(utc, {
    terminal: { capabilities: NO_ODA, timeZone: 'UTC' },
    transaction: { date: new Date('2026-12-01T05:00:00Z') },
    host: approving(utc),
  });
  t.notOk(onTime.tvrBits.includes('applicationNotYetEffective'), 'already 1 December at UTC');
});

t.test('a DST switch day: 9F21 follows the offset in force at each instant', async (t) => {
  // Berlin springs forward on 29 March 2026 at 01:00 UTC (02:00 CET becomes 03:00 CEST).
  const times: Array<[string, string]> = [
    ['2026-03-29T00:30:00Z', '013000'], // CET, UTC+1
    ['2026-03-29T01:30:00Z', '033000'], // CEST, UTC+2
  ];
  for (const [at, local] of times)
    t.same(localDateTime('Europe/Berlin', at), { date: '260329', time: local }, `${at} is ${local} in Berlin`);
  // New York falls back on 1 November 2026 at 06:00 UTC (02:00 EDT becomes 01:00 EST): 01:30 comes twice.
  t.same(localDateTime('America/New_York', '2026-11-01T05:30:00Z'), { date: '261101', time: '013000' }, 'EDT, UTC-4');
  t.same(localDateTime('America/New_York', '2026-11-01T06:30:00Z'), { date: '261101', time: '013000' }, 'EST, UTC-5');
  t.same(localDateTime('America/New_York', '2026-11-01T07:30:00Z'), { date: '261101', time: '023000' });
});

t.test('an unknown time zone is a PosError naming the setting, before any APDU', async (t) => {
  const c = card('visa-dda');
  await t.rejects(run(c, { terminal: { timeZone: 'Mars/Olympus' } }), {
    code: 'CODPOS_EMV_BAD_TERMINAL',
    message: /timeZone.*Mars\/Olympus/,
  });
  t.same(c.log, [], 'the card was never spoken to');
});
