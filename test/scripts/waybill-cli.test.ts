/** `codpos decode waybill` as a technician runs it. */
import t from 'tap';
import { runCodpos } from '../helpers/cli.js';

t.test(
  'an S10 number checks; a misread one exits 2 saying which digit; an operator format with --pattern',
  async (t) => {
    const ok = runCodpos(['decode', 'waybill', 'RR 123456785 CH']);
    t.equal(ok.status, 0, ok.stderr);
    t.equal(ok.stdout.trim(), 'RR123456785CH: UPU S10, service RR, serial 12345678, check digit 5 ok, country CH');
    const misread = runCodpos(['decode', 'waybill', 'RR123456784CH']);
    t.equal(misread.status, 2);
    t.match(misread.stderr, 'check digit is 4, the serial 12345678 gives 5');
    const operator = runCodpos(['decode', 'waybill', 'JNE-0012345', '--pattern', 'JNE-[0-9]{7}', '--json']);
    t.equal(operator.status, 0, operator.stderr);
    t.same(JSON.parse(operator.stdout), { valid: true, kind: 'operator', waybill: 'JNE-0012345' });
    const badPattern = runCodpos(['decode', 'waybill', 'X', '--pattern', '(']);
    t.equal(badPattern.status, 2);
    t.match(badPattern.stderr, '--pattern');
  },
);
