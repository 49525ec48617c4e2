import t from 'tap';
import { CardChannel, commandApdu } from '../../../emv/kernel/apdu.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('commandApdu: cases 1-4 and Le 00', async (t) => {
  t.equal(
    commandApdu(0x00, 0xa4, 0x04, 0x00, hex('A0000000031010'), 0).toString('hex').toUpperCase(),
    '00A4040007A000000003101000',
  );
  t.equal(commandApdu(0x80, 0xae, 0x80, 0x00, hex('0102')).toString('hex').toUpperCase(), '80AE8000020102');
  t.equal(commandApdu(0x00, 0xb2, 0x01, 0x0c, undefined, 0).toString('hex').toUpperCase(), '00B2010C00');
  t.throws(() => commandApdu(0x00, 0xa4, 0, 0, Buffer.alloc(256)), { code: 'CODPOS_EMV_BAD_COMMAND' });
});

t.test('61xx: the answer is fetched with GET RESPONSE and Le = xx', async (t) => {
  const sent: string[] = [];
  const channel = new CardChannel((apdu) => {
    sent.push(apdu.toString('hex').toUpperCase());
    if (apdu[1] === 0xa8) return hex('6104');
    if (apdu[1] === 0xc0) return hex('80021C00 9000');
    return hex('6D00');
  });
  const response = await channel.send(hex('80A8000002830000'));
  t.equal(response.sw, 0x9000);
  t.equal(response.data.toString('hex').toUpperCase(), '80021C00');
  t.same(sent, ['80A8000002830000', '00C0000004']);
});

t.test('6Cxx: the same command is sent again with Le = xx', async (t) => {
  const sent: string[] = [];
  const channel = new CardChannel((apdu) => {
    sent.push(apdu.toString('hex').toUpperCase());
    return apdu[4] === 0x05 ? hex('9F3602001C 9000') : hex('6C05');
  });
  const response = await channel.send(hex('80CA9F3600'));
  t.equal(response.data.toString('hex').toUpperCase(), '9F3602001C');
  t.same(sent, ['80CA9F3600', '80CA9F3605']);
});

t.test('61xx answered in pieces is concatenated', async (t) => {
  let n = 0;
  const channel = new CardChannel(() => [hex('6102'), hex('AABB 6102'), hex('CCDD 9000')][n++]!);
  const response = await channel.send(hex('80AE800000'));
  t.equal(response.data.toString('hex'), 'aabbccdd');
});

t.test('a response without status word is a PosError', async (t) => {
  const channel = new CardChannel(() => hex('90'));
  await t.rejects(channel.send(hex('00A4040000')), { code: 'CODPOS_EMV_BAD_RESPONSE', name: 'PosError' });
  const loop = new CardChannel(() => hex('6C05'));
  await t.rejects(loop.send(hex('80CA9F3600')), { code: 'CODPOS_EMV_BAD_RESPONSE' });
});
