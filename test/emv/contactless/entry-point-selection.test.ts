/** Combination selection (Book B 3.3): the PPSE directory, the kernel each entry asks for, the candidate list and its order. */
import t from 'tap';
import {
  buildCandidates,
  orderCandidates,
  parsePpseFci,
  requestedKernelId,
  type PpseDirectoryEntry,
} from '../../../emv/contactless/ppse.js';
import { preProcess } from '../../../emv/contactless/pre-processing.js';
import { ppseFci } from '../../../emv/card/virtual-contactless-card.js';
import type { PpseEntry } from '../../../emv/card/contactless-profile.js';
import type { ContactlessCombination } from '../../../emv/contactless/types.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const directory = (ppse: PpseEntry[]) =>
  parsePpseFci(
    ppseFci({ name: 'x', description: '', form: 'card', type: 'A', uid: '01020304', ppse, applications: [] }),
  );
const entry = (aid: string, fields: Partial<PpseDirectoryEntry> = {}): PpseDirectoryEntry => ({
  adfName: hex(aid),
  priority: 0,
  ...fields,
});

t.test('the PPSE FCI: entries in order, priority low nibble, malformed entries and FCIs', async (t) => {
  const entries = directory([
    { aid: 'A0000000031010', label: 'VISA', priority: '81', kernelIdentifier: '03' },
    { aid: 'A000000004', priority: '02' },
    { aid: 'A0000000', label: 'TOO SHORT' },
  ]);
  t.equal(entries.length, 2, 'an ADF name under 5 bytes is skipped');
  t.same(entries[0], { adfName: hex('A0000000031010'), label: 'VISA', priority: 1, kernelIdentifier: hex('03') });
  t.same(entries[1], { adfName: hex('A000000004'), priority: 2 });
  t.same(parsePpseFci(hex('6F05840102')), [], 'a truncated FCI reads as no directory');
  t.same(parsePpseFci(hex('6F03840101')), [], 'an FCI without A5/BF0C has no directory');
  t.same(parsePpseFci(Buffer.alloc(0)), []);
  const seventeen = 'A0' + '00'.repeat(16);
  t.same(directory([{ aid: seventeen }]), [], 'an ADF name over 16 bytes is skipped');
  const withExtended = parsePpseFci(hex('6F19 8402 3250 A513 BF0C10 610E 4F07A0000000031010 9F290201FF'));
  t.same(withExtended[0]!.extendedSelection, hex('01FF'), 'extended selection (9F29) is kept');
});

t.test('requested kernel: 9F2A when the card gives one, else the default of the RID', async (t) => {
  t.equal(requestedKernelId(entry('A0000000041010')), 2, 'Mastercard RID: kernel 2');
  t.equal(requestedKernelId(entry('A0000000031010')), 3, 'Visa RID: kernel 3');
  t.equal(requestedKernelId(entry('A0000000251010')), undefined, 'no default this reader knows');
  t.equal(requestedKernelId(entry('A0000000031010', { kernelIdentifier: hex('02') })), 2, '9F2A wins over the RID');
  t.equal(requestedKernelId(entry('A0000000251010', { kernelIdentifier: hex('03') })), 3);
  t.equal(requestedKernelId(entry('A0000000031010', { kernelIdentifier: hex('00') })), 3, 'zero: the default');
  t.equal(requestedKernelId(entry('A0000000031010', { kernelIdentifier: Buffer.alloc(0) })), 3, 'empty: the default');
  t.equal(
    requestedKernelId(entry('A0000000031010', { kernelIdentifier: hex('C10203') })),
    undefined,
    'domestic kernel',
  );
  t.equal(requestedKernelId(entry('A0000000031010', { kernelIdentifier: hex('420203') })), undefined, 'bits 8-7 = 01');
});

const visa: ContactlessCombination = { aid: 'A0000000031010', kernelId: 3 };
const mastercard: ContactlessCombination = { aid: 'A0000000041010', kernelId: 2 };

t.test('candidates: AID prefix and kernel must match; unsupported AIDs and refused combinations dropped', async (t) => {
  const entries = [
    entry('A0000000251010', { priority: 1 }),
    entry('A000000003101001', { priority: 3 }),
    entry('A0000000041010', { priority: 2 }),
    entry('A0000000031010', { priority: 2, kernelIdentifier: hex('02') }),
    entry('A00000000310', { priority: 1 }),
  ];
  const candidates = buildCandidates(entries, preProcess([visa, mastercard], { amount: 100 }));
  t.same(
    candidates.map((c) => [c.entry.adfName.toString('hex').toUpperCase(), c.combination.kernelId]),
    [
      ['A0000000041010', 2],
      ['A000000003101001', 3],
    ],
    'Amex (no combination), a 9F2A asking for kernel 2 on a kernel-3 AID, and a shorter ADF name are dropped',
  );
  const visaOnKernel2: ContactlessCombination = { aid: 'A0000000031010', kernelId: 2 };
  const both = buildCandidates(entries, preProcess([visa, visaOnKernel2], { amount: 100 }));
  t.same(
    both.map((c) => [c.entry.adfName.toString('hex').toUpperCase(), c.combination]),
    [
      ['A0000000031010', visaOnKernel2],
      ['A000000003101001', visa],
    ],
    'the entry with 9F2A = 02 matches the kernel-2 combination of the same AID',
  );
  const refused = buildCandidates(
    entries,
    preProcess([{ ...visa, transactionLimit: 100 }, mastercard], { amount: 100 }),
  );
  t.same(
    refused.map((c) => c.combination),
    [mastercard],
    'a combination pre-processing refused gives no candidate',
  );
});

t.test('order: priority 1 first, no priority last, ties in the card order', async (t) => {
  const indicators = preProcess([visa], { amount: 1 })[0]!.indicators;
  const c = (name: string, priority: number, order: number) => ({
    entry: entry(name, { priority }),
    combination: visa,
    indicators,
    order,
  });
  const ordered = orderCandidates([
    c('A000000003101001', 0, 0),
    c('A000000003101002', 2, 1),
    c('A000000003101003', 1, 2),
    c('A000000003101004', 2, 3),
    c('A000000003101005', 15, 4),
  ]);
  t.same(
    ordered.map((x) => x.order),
    [2, 1, 3, 4, 0],
  );
});
