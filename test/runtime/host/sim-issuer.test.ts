/**
 * The simulated issuer's PIN check on its own (sim-issuer.ts); its ARQC/ARPC and script MACs
 * are proven by the virtual cards that accept them (test/emv/kernel, simulator.test.ts).
 */
import t from 'tap';
import { loadCardProfile } from '../../../emv/card/index.js';
import { encodePinBlock } from '../../../emv/crypto/pin-block.js';
import { deriveTdesKeys, parseTdesKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { pinBlockMatches } from '../../../runtime/host/sim-issuer.js';

const BDK = '0123456789ABCDEFFEDCBA9876543210';
const KSN = 'FFFF9876543210E00001';

t.test("a DUKPT format 0 PIN block matches the card's online PIN only when it carries it, under its KSN", async (t) => {
  const app = loadCardProfile('visa-dda').applications[0]!;
  t.equal(app.onlinePin, '1234', 'the profile this test is written against');
  const key = deriveTdesKeys(BDK, parseTdesKsn(KSN)).pinKey;
  const block = (pin: string) => encodePinBlock({ format: 0, pin, pan: app.pan, key });
  t.equal(pinBlockMatches(app, { bdk: BDK }, block('1234'), KSN, app.pan), true);
  t.equal(pinBlockMatches(app, { bdk: BDK }, block('4321'), KSN, app.pan), false, 'wrong PIN');
  t.equal(pinBlockMatches(app, { bdk: BDK }, block('1234'), 'FFFF9876543210E00002', app.pan), false, 'another KSN');
  t.equal(
    pinBlockMatches(app, { bdk: BDK }, Buffer.alloc(8, 0xff), KSN, app.pan),
    false,
    'a block that does not decode',
  );
  t.equal(
    pinBlockMatches({ ...app, onlinePin: undefined }, { bdk: BDK }, block('1234'), KSN, app.pan),
    false,
    'no PIN on file',
  );
});
