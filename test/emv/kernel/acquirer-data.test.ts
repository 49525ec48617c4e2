/**
 * What the kernel hands over for the acquirer: the card's tag 57 as DE35 text beside the PAN
 * in the online request, the chip data as it stands after the second GENERATE AC (not the
 * request's), and the terminal's 9F1E / 9F15 from its configuration.
 */
import t from 'tap';
import { decodeTlv, encodeTlv, findTag } from '../../../emv/tlv/index.js';
import type { CardProfile } from '../../../emv/card/index.js';
import { CardChannel, type OnlineRequest } from '../../../emv/kernel/index.js';
import { TransactionContext } from '../../../emv/kernel/context.js';
import { buildPurchase, decodeIso8583, encodeIso8583, pos87b, stanCounter } from '../../../emv/iso8583/index.js';
import { card, run, issuerFor, terminal, transaction } from './fixtures.js';

const PAN = '4761739001010119';
const NO_ODA = 'E068' + '00';

/** Replaces the value of tag 57 in record 1.1 of the first application (or removes it with null). */
function withTag57(value: string | null) {
  return (p: CardProfile) => {
    const app = p.applications[0]!;
    const [template] = decodeTlv(Buffer.from(app.records['1.1']!, 'hex'));
    const children = template!.children!.filter((c) => c.tag !== 0x57);
    if (value !== null) children.unshift({ tag: 0x57, value: Buffer.from(value, 'hex') });
    app.records['1.1'] = encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children }]).toString('hex');
  };
}

function approving(c: ReturnType<typeof card>, mutate?: (iad: Buffer) => void) {
  const issuer = issuerFor(c);
  return (r: OnlineRequest) => {
    const issuerAuthenticationData = issuer.issuerAuthenticationData(r, '00');
    mutate?.(issuerAuthenticationData);
    return { result: 'approved' as const, responseCode: '00', issuerAuthenticationData };
  };
}

t.test('tag 57 reaches the online request as DE35 text: digits, = as the separator, no F pad', async (t) => {
  const c = card('visa-dda');
  const { requests } = await run(c, { host: approving(c) });
  t.equal(
    requests[0]!.track2,
    `${PAN}=30122011143800000`,
    'the visa-dda card: 57 11 4761739001010119 D 3012 201 1143800000',
  );

  const padded = card('visa-dda', withTag57(`${PAN}D3012201114380000F`));
  const { requests: paddedRequests } = await run(padded, {
    terminal: { capabilities: NO_ODA },
    host: approving(padded),
  });
  t.equal(paddedRequests[0]!.track2, `${PAN}=3012201114380000`, 'the F that pads an odd number of digits is dropped');
});

t.test('no tag 57, or one that does not parse: no track 2 in the request (never garbage in DE35)', async (t) => {
  const without = card('visa-dda', withTag57(null));
  const { requests } = await run(without, { terminal: { capabilities: NO_ODA }, host: approving(without) });
  t.equal(requests.length, 1, 'the card still goes online');
  t.equal(requests[0]!.track2, undefined);
  t.equal(requests[0]!.pan, PAN, 'with its PAN from 5A');

  const malformed = card('visa-dda', withTag57(`${PAN}E30122011143800000`));
  const { requests: malformedRequests } = await run(malformed, {
    terminal: { capabilities: NO_ODA },
    host: approving(malformed),
  });
  t.equal(malformedRequests[0]!.track2, undefined, 'a separator other than D');
});

t.test('a chip 0200 carries DE2, DE35, DE14, DE23 and DE55 together, from the online request', async (t) => {
  const c = card('visa-dda');
  let sent: ReturnType<typeof decodeIso8583> | undefined;
  const issuer = issuerFor(c);
  await run(c, {
    host: (request) => {
      // What the host client builds from the online request (runtime/host/client.ts).
      const purchase = buildPurchase(
        {
          amount: 1500,
          card: {
            pan: request.pan,
            expiry: request.expiry!,
            track2: request.track2!,
            panSequenceNumber: request.panSequenceNumber!.padStart(3, '0'),
          },
          posEntryMode: '051',
          iccData: request.de55,
        },
        {
          terminalId: 'COD00001',
          merchantId: 'CODPOS-MERCHANT',
          currency: '840',
          clock: () => new Date('2026-11-29T10:15:00Z'),
          nextStan: stanCounter(),
        },
      );
      sent = decodeIso8583(encodeIso8583(purchase, pos87b), pos87b);
      return {
        result: 'approved',
        responseCode: '00',
        issuerAuthenticationData: issuer.issuerAuthenticationData(request, '00'),
      };
    },
  });
  t.ok(sent, 'the host was asked');
  const fields = sent!.fields;
  t.equal(fields[2], PAN);
  t.equal(fields[35], `${PAN}=30122011143800000`);
  t.equal(fields[14], '3012');
  t.equal(fields[23], '001');
  const icc = decodeTlv(fields[55] as Buffer);
  t.equal(findTag(icc, 0x9f27)!.value.toString('hex'), '80', 'DE55 with the ARQC');
});

t.test(
  'the final chip data: after an ARPC that fails, 95 has "issuer authentication failed"; the request DE55 does not',
  async (t) => {
    const c = card('visa-dda');
    const { result, requests } = await run(c, { host: approving(c, (iad) => void (iad[0]! ^= 0xff)) });
    t.equal(result.reason, 'card-declined-after-online-approval');
    const request = requests[0]!.de55;
    const final = decodeTlv(result.finalIccData);
    // TVR byte 5 bit 7 (0x40): issuer authentication failed.
    t.equal(
      findTag(request, 0x95)!.value.toString('hex').toUpperCase(),
      '0000048000',
      'the request went with the TVR before issuer authentication',
    );
    t.equal(findTag(final, 0x95)!.value.toString('hex').toUpperCase(), '0000048040', 'the final TVR has B5b7');
    t.equal(findTag(request, 0x9f27)!.value.toString('hex'), '80', 'the request carried the ARQC');
    t.equal(findTag(final, 0x9f27)!.value.toString('hex'), '00', 'the final data carries the AAC of GENERATE AC 2');
    t.notSame(findTag(final, 0x9f26)!.value, findTag(request, 0x9f26)!.value, 'a new cryptogram');
    t.equal(findTag(request, 0x9b), undefined, 'no TSI in the request');
    t.equal(
      findTag(final, 0x9b)!.value.toString('hex').toUpperCase(),
      'F800',
      'the final TSI: issuer authentication performed',
    );
    t.same(result.finalIccData, encodeTlv(result.de55), 'finalIccData is de55 encoded');
  },
);

t.test('the final chip data after an approval with issuer scripts: the TC and 9F5B', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result } = await run(c, {
    host: (r) => ({
      result: 'approved',
      responseCode: '00',
      issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
      issuerScripts: encodeTlv([
        {
          tag: 0x72,
          value: Buffer.alloc(0),
          children: [
            { tag: 0x9f18, value: Buffer.from('55667788', 'hex') },
            { tag: 0x86, value: issuer.scriptCommand(r, 0x1e, 0x00, 0x00) },
          ],
        },
      ]),
    }),
  });
  t.equal(result.outcome, 'approved');
  const final = decodeTlv(result.finalIccData);
  t.equal(findTag(final, 0x9f27)!.value.toString('hex'), '40', 'a TC');
  t.equal(findTag(final, 0x9f5b)!.value.toString('hex').toUpperCase(), '2055667788', 'the script result');
  t.equal(findTag(final, 0x9b)!.value.toString('hex').toUpperCase(), 'FC00', 'TSI: script processing performed');
});

t.test('9F1E and 9F15 come from the terminal configuration; 9F1E travels in DE55', async (t) => {
  const c = card('visa-dda');
  const { requests } = await run(c, {
    terminal: { ifdSerialNumber: 'SN000042', merchantCategoryCode: '4215' },
    host: approving(c),
  });
  t.equal(findTag(requests[0]!.de55, 0x9f1e)!.value.toString('latin1'), 'SN000042');
  const ctx = new TransactionContext(
    new CardChannel(() => Buffer.from('9000', 'hex')),
    terminal({ merchantCategoryCode: '4215', ifdSerialNumber: 'SN42' }),
    transaction(),
    { goOnline: () => ({ result: 'unable' }) },
  );
  t.equal(ctx.terminalData.get(0x9f15)!.toString('hex'), '4215');
  t.equal(ctx.terminalData.get(0x9f1e)!.toString('latin1'), 'SN42    ', 'an8, padded');
  t.throws(
    () =>
      new TransactionContext(
        new CardChannel(() => Buffer.alloc(0)),
        terminal({ merchantCategoryCode: '42' }),
        transaction(),
        { goOnline: () => ({ result: 'unable' }) },
      ),
    { code: 'CODPOS_EMV_BAD_TERMINAL', message: /merchantCategoryCode/ },
  );
});
