/**
 * The clearing record (clearing.ts): one type, one writer, one reader. The stored form is
 * what terminals already hold (the clear fields as JSON keys, expiry and DE55 sealed), so a
 * renamed key would make every approved payment of an open batch unvoidable: the stored
 * keys are written out here by hand, not taken from the code.
 */
import t from 'tap';
import { DE, type IsoMessage } from '../../../emv/iso8583/index.js';
import { clearingOf, readClearing, writeClearing } from '../../../runtime/host/clearing.js';
import { openSpool } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const approved: IsoMessage = {
  mti: '0200',
  fields: {
    [DE.PAN]: VISA_PAN,
    [DE.PROCESSING_CODE]: '000000',
    [DE.AMOUNT]: '000000004200',
    [DE.TRANSMISSION]: '1129101500',
    [DE.STAN]: '000017',
    [DE.LOCAL_TIME]: '101500',
    [DE.LOCAL_DATE]: '1129',
    [DE.POS_ENTRY_MODE]: '051',
    [DE.PAN_SEQUENCE]: '001',
    [DE.POS_CONDITION]: '00',
    [DE.TRACK2]: `${VISA_PAN}=28122011143800000`,
    [DE.PIN_BLOCK]: Buffer.from('0123456789abcdef', 'hex'),
    [DE.ICC_DATA]: Buffer.from('9f26081122334455667788', 'hex'),
  },
};

t.test(
  'an approved request is stored under the keys terminals already hold, card data sealed, no track 2 or PIN block',
  async (t) => {
    const spool = await openSpool(t);
    const row = spool.journal.begin({ amount: 4200, currency: '840', pan: VISA_PAN });
    writeClearing(
      spool.journal,
      row.id,
      clearingOf(approved, { responseCode: '00', authCode: '123456', rrn: '633310000017' }),
    );
    const stored = spool.journal.clearingOf(row.id)!;
    t.same(stored.clear, {
      mti: '0200',
      responseCode: '00',
      authCode: '123456',
      processingCode: '000000',
      stan: '000017',
      transmission: '1129101500',
      localTime: '101500',
      localDate: '1129',
      posEntryMode: '051',
      posConditionCode: '00',
      panSequenceNumber: '001',
      rrn: '633310000017',
    });
    t.same(
      stored.sealed,
      { expiry: '2812', iccData: '9f26081122334455667788' },
      'expiry from track 2 (no DE14), DE55 as hex',
    );
    t.notMatch(JSON.stringify(stored), VISA_PAN);
    t.notMatch(JSON.stringify(stored), '0123456789abcdef');
  },
);

t.test('the reader gives back what the writer kept; a row without a record reads undefined', async (t) => {
  const spool = await openSpool(t);
  const row = spool.journal.begin({ amount: 4200, currency: '840', pan: VISA_PAN });
  t.equal(readClearing(spool.journal, row.id), undefined);
  const { [DE.TRACK2]: _track, ...fields } = approved.fields;
  writeClearing(
    spool.journal,
    row.id,
    clearingOf({ mti: '0200', fields: { ...fields, [DE.EXPIRY]: '2712' } }, { responseCode: '10', authCode: '654321' }),
  );
  const read = readClearing(spool.journal, row.id)!;
  t.match(read.fields, { mti: '0200', responseCode: '10', authCode: '654321', stan: '000017', posEntryMode: '051' });
  t.equal(read.fields.rrn, undefined, 'no RRN in the request and none in the answer');
  t.equal(read.card.expiry, '2712', 'DE14 first');
  t.equal(read.card.iccData?.toString('hex'), '9f26081122334455667788');
});

t.test(
  'a record written by the code before the typed record (clear and sealed as plain maps) reads the same',
  async (t) => {
    const spool = await openSpool(t);
    const row = spool.journal.begin({ amount: 4200, currency: '840', pan: VISA_PAN });
    spool.journal.recordClearing(
      row.id,
      {
        mti: '0220',
        responseCode: 'Y1',
        authCode: 'OFF001',
        stan: '000020',
        transmission: '1129101600',
        localTime: '101600',
        localDate: '1129',
        posEntryMode: '051',
        processingCode: '000000',
      },
      { expiry: '2812' },
    );
    const read = readClearing(spool.journal, row.id)!;
    t.same(read.fields, {
      mti: '0220',
      responseCode: 'Y1',
      authCode: 'OFF001',
      processingCode: '000000',
      stan: '000020',
      transmission: '1129101600',
      localTime: '101600',
      localDate: '1129',
      posEntryMode: '051',
    });
    t.same(read.card, { expiry: '2812' });
  },
);
