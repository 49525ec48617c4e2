import t from 'tap';
import { TdesDukptDevice } from '../../../emv/crypto/dukpt-tdes-device.js';
import { deriveTdesKeys, nextKsn, parseTdesKsn, tdesKsnCounter } from '../../../emv/crypto/dukpt-tdes.js';
import { tdesEcbEncrypt } from '../../../emv/crypto/primitives.js';
import { bytes, hex, named, vectors } from './vectors.js';

const tdes = vectors('tdes_dukpt');
const bdk = tdes[0]!.inputs.bdk as string;
const ipek = tdes[0]!.expected.ipek as string;

t.test('the device loads the IPEK into future key registers and starts at counter 1', async (t) => {
  const device = TdesDukptDevice.load(ipek, parseTdesKsn('FFFF9876543210E00000'));
  t.equal(hex(device.ksn), 'FFFF9876543210E00001');
  t.equal(device.keysHeld, 21, 'one future key per counter bit');
});

for (const v of tdes.filter((x) => x.expected.current_key !== undefined || x.inputs.ipek !== undefined)) {
  const target = tdesKsnCounter(parseTdesKsn(v.inputs.ksn));
  if (target > 0x100) continue; // the device only moves forward; far counters are covered host-side
  t.test(`device reaches the vector's key by counting: ${named(v)}`, async (t) => {
    const device = TdesDukptDevice.load(ipek, parseTdesKsn(v.inputs.ksn));
    let tx = device.nextTransaction();
    while (tdesKsnCounter(tx.ksn) < target) tx = device.nextTransaction();
    t.equal(hex(tx.ksn), v.inputs.ksn);
    if (v.expected.current_key !== undefined) t.equal(hex(tx.keys.transactionKey), v.expected.current_key);
    if (v.expected.pin_key !== undefined) t.equal(hex(tx.keys.pinKey), v.expected.pin_key);
    t.equal(
      hex(tdesEcbEncrypt(tx.keys.pinKey, bytes(v.inputs.clear_pin_block))),
      v.expected.encrypted_pin_block,
      'encrypted PIN block',
    );
  });
}

t.test('device and host agree on every transaction up to and past the first 10-bit counter (3FF)', async (t) => {
  const device = TdesDukptDevice.load(ipek, parseTdesKsn('FFFF9876543210E00000'));
  let expectedKsn = nextKsn(parseTdesKsn('FFFF9876543210E00000'));
  let mismatches = 0;
  let maxHeld = 0;
  for (let i = 0; i < 1100; i++) {
    const tx = device.nextTransaction();
    maxHeld = Math.max(maxHeld, device.keysHeld);
    if (!tx.ksn.equals(expectedKsn) || !tx.keys.transactionKey.equals(deriveTdesKeys(bdk, tx.ksn).transactionKey))
      mismatches++;
    expectedKsn = nextKsn(expectedKsn);
  }
  t.equal(mismatches, 0, 'same KSN sequence as nextKsn and same keys as the BDK-side derivation');
  t.ok(maxHeld <= 21, `never more than 21 keys held (max ${maxHeld})`);
  t.ok(tdesKsnCounter(device.ksn) > 0x400, 'walked past 3FF -> 400');
});

t.test('keys of used counters are gone: registers only ever hold future keys', async (t) => {
  const device = TdesDukptDevice.load(ipek, parseTdesKsn('FFFF9876543210E00000'));
  const used = new Set<string>();
  for (let i = 0; i < 64; i++) used.add(hex(device.nextTransaction().keys.transactionKey));
  const held = (device as unknown as { futureKeys: Array<Buffer | null> }).futureKeys
    .filter((k): k is Buffer => k !== null)
    .map(hex);
  t.equal(held.filter((k) => used.has(k)).length, 0, 'no used transaction key is still in a register');
  t.notOk(held.includes(ipek), 'the IPEK is not kept');
});
