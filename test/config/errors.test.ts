import t from 'tap';
import { PosError, exitCodeFor, areaOf, isPosError } from '../../config/errors.js';

t.test('a PosError carries its code, area, cause and exit code', async (t) => {
  const cause = new Error('EIO');
  const error = new PosError('CODPOS_DEVICE_DISCONNECTED', 'printer unplugged', { cause, disconnected: true });
  t.equal(error.area, 'DEVICE');
  t.equal(error.exitCode, 3);
  t.equal(error.cause, cause);
  t.equal(error.disconnected, true);
  t.ok(isPosError(error, 'CODPOS_DEVICE_DISCONNECTED'));
  t.notOk(isPosError(error, 'CODPOS_DEVICE_IO'));
});

t.test('exit codes per area', async (t) => {
  t.equal(exitCodeFor(new PosError('CODPOS_CONFIG_INVALID', 'x')), 2);
  t.equal(exitCodeFor(new PosError('CODPOS_SPOOL_FULL', 'x')), 5);
  t.equal(exitCodeFor(new Error('bug')), 1);
  t.throws(() => areaOf('CODPOS_NOPE_X' as never), /names no known area/);
});
