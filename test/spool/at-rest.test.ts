/**
 * PCI DSS at rest: after card transactions are journaled (some still pending with
 * track-2 and PIN block, some answered, some with a reversal queued), the bytes
 * of the database file and its WAL hold no PAN, track data or PIN block in clear —
 * neither as ASCII digits nor in the packed BCD / binary forms they travel in.
 */
import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openTestSpool, tempDir } from './helpers.js';
import { Spool } from '../../spool/spool.js';

const CARDS = [
  { pan: '4761739001010010', track2: '4761739001010010=22122011143804400000', pinBlock: '8F3A52C1D07B4E69' },
  { pan: '5413330089600010', track2: '5413330089600010D25122010000000000000', pinBlock: '0412AC89EF76DB51' },
  { pan: '374245455400126', track2: '374245455400126=2505201000000000', pinBlock: 'C1D2E3F405162738A9B0C1D2E3F40516' },
];

/** Every form a value could be found in: ASCII, lower-case hex text, packed BCD (F-padded, D for =). */
function forms(value: string): Array<{ label: string; bytes: Buffer }> {
  const out = [{ label: 'ascii', bytes: Buffer.from(value, 'ascii') }];
  if (/^[0-9A-F=D]+$/i.test(value)) {
    const nibbles = value.toUpperCase().replace('=', 'D');
    out.push({ label: 'ascii lower', bytes: Buffer.from(value.toLowerCase(), 'ascii') });
    out.push({ label: 'bcd', bytes: Buffer.from(nibbles.length % 2 ? nibbles + 'F' : nibbles, 'hex') });
    if (nibbles.length % 2) out.push({ label: 'bcd left-padded', bytes: Buffer.from('0' + nibbles, 'hex') });
  }
  return out;
}

function needles(): Array<{ label: string; bytes: Buffer }> {
  const list: Array<{ label: string; bytes: Buffer }> = [];
  for (const card of CARDS) {
    for (const [what, value] of [
      ['PAN', card.pan],
      ['track 2', card.track2],
      ['track 2 (= form)', card.track2.replace('D', '=')],
      ['PIN block', card.pinBlock],
    ] as const) {
      for (const form of forms(value))
        list.push({ label: `${what} ${value.slice(0, 4)}… as ${form.label}`, bytes: form.bytes });
    }
    // The hidden middle of the PAN must not appear next to its ends either.
    list.push({
      label: `PAN ${card.pan.slice(0, 4)}… middle digits`,
      bytes: Buffer.from(card.pan.slice(5, card.pan.length - 3)),
    });
  }
  return list;
}

function findings(files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    for (const needle of needles()) if (bytes.includes(needle.bytes)) found.push(`${needle.label} in ${file}`);
  }
  return found;
}

t.test('no card data in clear in the database or its WAL', async (t) => {
  const { spool, file } = openTestSpool();
  const ids: string[] = [];
  for (const [i, card] of CARDS.entries()) {
    for (let round = 0; round < 3; round++) {
      const txn = spool.journal.begin({
        amount: 1000 + i,
        currency: '840',
        pan: card.pan,
        sensitive: { track2: card.track2, pinBlock: card.pinBlock, ksn: 'FFFF9876543210E00001' },
        waybill: `RR12345678${i}GB`,
        outbox: {
          stream: 'transaction',
          payload: { waybill: `RR12345678${i}GB`, amount: 1000 + i },
          sealed: { pan: card.pan },
        },
      });
      ids.push(txn.id);
      if (round === 1) spool.journal.transition(txn.id, 'approved', { responseCode: '00' });
      if (round === 2) {
        spool.journal.transition(txn.id, 'reversal_pending', {
          outbox: { stream: 'reversal', payload: { txnId: txn.id }, sealed: { pan: card.pan } },
        });
      }
    }
  }
  const stillPending = ids.filter((id) => spool.journal.get(id)!.holdsSensitiveData);
  t.equal(stillPending.length, 3, 'three transactions still hold sealed track-2 and PIN block');
  t.equal(spool.journal.openSensitive(stillPending[0]!)!.pinBlock, CARDS[0]!.pinBlock, 'and they open with the key');

  const files = [file, file + '-wal', file + '-shm'];
  t.ok(readFileSync(file + '-wal').length > 0, 'the WAL holds the recent commits');
  t.same(findings(files), [], 'nothing while open (database + WAL)');
  spool.close(); // checkpoints the WAL into the database file
  t.same(findings(files), [], 'nothing after the checkpoint');
});

t.test('control: the scan does find card data stored in clear', async (t) => {
  const file = join(tempDir(), 'control.db');
  const spool = Spool.open({ file });
  await spool.outbox.enqueue('waybill-event', { note: CARDS[0]!.track2 });
  spool.db.prepare('UPDATE outbox SET sealed = ?').run(Buffer.from(CARDS[1]!.pinBlock, 'hex'));
  const found = findings([file, file + '-wal']);
  spool.close();
  t.ok(
    found.some((f) => f.startsWith('PAN 4761… as ascii')),
    'ASCII PAN found',
  );
  t.ok(
    found.some((f) => f.startsWith('track 2 4761… as ascii')),
    'ASCII track 2 found',
  );
  t.ok(
    found.some((f) => f.startsWith('PIN block 0412… as bcd')),
    'binary PIN block found',
  );
});
