/** UPU S10 waybill numbers: the check digit on the standard's own example and on the 10/11 cases. */
import t from 'tap';
import { checkWaybill, s10CheckDigit } from '../../../runtime/workflow/waybill.js';

t.test('check digits: UPU S10 example RR 12345678 5 CH, and the rules for 10 and 11', async (t) => {
  t.equal(s10CheckDigit('12345678'), 5, 'UPU S10 (the example in the standard): RR123456785CH');
  // Sum 11*k: 11 - 0 = 11 -> 5. Serial 00000000 sums to 0.
  t.equal(s10CheckDigit('00000000'), 5);
  // A sum of 1 (mod 11): 11 - 1 = 10 -> 0. Serial 00300000: 3 * 4 = 12 = 1 mod 11.
  t.equal(s10CheckDigit('00300000'), 0);
  t.throws(() => s10CheckDigit('1234567'), /8 digits/);
});

t.test(
  'a scan is checked: spaces and case forgiven, a wrong check digit named, an operator format allowed',
  async (t) => {
    t.match(checkWaybill('rr 123 456 785 ch'), {
      valid: true,
      kind: 's10',
      waybill: 'RR123456785CH',
      serviceIndicator: 'RR',
      serial: '12345678',
      checkDigit: '5',
      country: 'CH',
    });
    t.match(checkWaybill('RR123456784CH'), { valid: false, reason: /check digit is 4, the serial 12345678 gives 5/ });
    t.match(checkWaybill('JNE-0012345'), { valid: false, reason: /not a UPU S10 number/ });
    t.match(checkWaybill('JNE-0012345', { operatorPattern: /^JNE-[0-9]{7}$/ }), {
      valid: true,
      kind: 'operator',
      waybill: 'JNE-0012345',
    });
    t.match(
      checkWaybill('RR123456784CH', { operatorPattern: /^JNE-[0-9]{7}$/ }),
      { valid: false },
      'an S10-shaped number must pass its own check',
    );
  },
);
