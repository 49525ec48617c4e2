import t from 'tap';
import { AesDukptDevice } from '../../../emv/crypto/dukpt-aes-device.js';
import { aesKsnCounter, deriveAesKeys, nextAesKsn, parseAesKsn } from '../../../emv/crypto/dukpt-aes.js';
import { aesCmac } from '../../../emv/crypto/primitives.js';
import { hex, named, vectors } from './vectors.js';

const aes = vectors('aes_dukpt');
const bdk = aes[0]!.inputs.bdk as string;
const initialKey = aes[0]!.expected.initial_key as string;

t.test('the device loads the initial key into 32 registers and starts at counter 1', async (t) => {
  const device = AesDukptDevice.load(initialKey, parseAesKsn('123456789012345600000000'));
  t.equal(hex(device.ksn), '123456789012345600000001');
  t.equal(device.keysHeld, 32);
});

for (const v of aes.filter((x) => x.expected.transaction_key !== undefined || x.expected.pin_key_1 !== undefined)) {
  t.test(`device reaches the vector's keys by counting: ${named(v)}`, async (t) => {
    const target = aesKsnCounter(parseAesKsn(v.inputs.ksn ?? v.inputs.ksn_1));
    const device = AesDukptDevice.load(v.inputs.initial_key, parseAesKsn(v.inputs.ksn ?? v.inputs.ksn_1));
    let tx = device.nextTransaction();
    while (aesKsnCounter(tx.ksn) < target) tx = device.nextTransaction();
    if (v.expected.transaction_key !== undefined) {
      t.equal(hex(tx.keys.transactionKey), v.expected.transaction_key, 'transaction key');
      t.equal(
        hex(aesCmac(tx.keys.macKey, Buffer.from(v.inputs.data_ascii, 'ascii'))),
        v.expected.cmac_req,
        'request CMAC',
      );
      t.equal(
        hex(aesCmac(tx.keys.macVerifyKey, Buffer.from(v.inputs.data_ascii, 'ascii'))),
        v.expected.cmac_resp,
        'response CMAC',
      );
    } else {
      t.equal(hex(tx.keys.pinKey), v.expected.pin_key_1);
      t.equal(hex(tx.keys.macKey), v.expected.mac_gen_key_1);
      t.equal(hex(tx.keys.dataKey), v.expected.data_enc_key_1);
      t.equal(hex(device.nextTransaction().keys.pinKey), v.expected.pin_key_2, 'counter 2 PIN key');
    }
  });
}

t.test('device and host agree transaction by transaction', async (t) => {
  const device = AesDukptDevice.load(initialKey, parseAesKsn('123456789012345600000000'));
  let expectedKsn = nextAesKsn(parseAesKsn('123456789012345600000000'));
  let mismatches = 0;
  let maxHeld = 0;
  for (let i = 0; i < 600; i++) {
    const tx = device.nextTransaction();
    maxHeld = Math.max(maxHeld, device.keysHeld);
    const host = deriveAesKeys(bdk, tx.ksn);
    if (
      !tx.ksn.equals(expectedKsn) ||
      !tx.keys.transactionKey.equals(host.transactionKey) ||
      !tx.keys.pinKey.equals(host.pinKey) ||
      !tx.keys.dataKey.equals(host.dataKey)
    )
      mismatches++;
    expectedKsn = nextAesKsn(expectedKsn);
  }
  t.equal(mismatches, 0, 'same KSNs as nextAesKsn and same keys as the BDK-side derivation');
  t.ok(maxHeld <= 32, `never more than 32 keys held (max ${maxHeld})`);
});

t.test('AES-256: device and host agree', async (t) => {
  const bdk256 = Buffer.alloc(32, 0x5a);
  const ksn0 = parseAesKsn('0011223344556677' + '00000000');
  const device = AesDukptDevice.load(
    deriveAesKeys(bdk256, parseAesKsn('001122334455667700000001'), 'aes256').initialKey,
    ksn0,
  );
  for (let i = 0; i < 20; i++) {
    const tx = device.nextTransaction();
    t.same(tx.keys.pinKey, deriveAesKeys(bdk256, tx.ksn, 'aes256').pinKey, `counter ${aesKsnCounter(tx.ksn)}`);
  }
});
