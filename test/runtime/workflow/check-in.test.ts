/** Courier PIN hashes and the check-in lockout. */
import t from 'tap';
import { hashCourierPin, verifyCourierPin } from '../../../runtime/workflow/courier-pin.js';
import { WorkflowService } from '../../../runtime/workflow/service.js';
import { EventBus } from '../../../runtime/api/events.js';
import { validateConfig } from '../../../config/load.js';
import { openSpool } from '../host/fixtures.js';

t.test('a PIN hash verifies its PIN only; a hash in another format verifies nothing', async (t) => {
  const hash = hashCourierPin('4321');
  t.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  t.notMatch(hash, '4321');
  t.ok(verifyCourierPin('4321', hash));
  t.notOk(verifyCourierPin('4322', hash));
  t.notOk(verifyCourierPin('4321', 'md5$abc'));
  t.not(hashCourierPin('4321'), hash, 'a new salt each time');
});

t.test('five wrong PINs in a row lock check-in for five minutes, even for the right PIN', async (t) => {
  const spool = await openSpool(t);
  spool.tasks.replace([], [{ id: 'C7', name: 'Courier Seven', pinHash: hashCourierPin('2468') }]);
  let now = 1_000_000;
  const workflow = new WorkflowService(validateConfig({}), { spool: () => spool, events: new EventBus(), clock: () => now });
  await workflow.start();
  for (let i = 0; i < 5; i++) t.throws(() => workflow.checkIn('C7', '0000'), { code: 'CODPOS_USAGE_CHECK_IN' });
  t.throws(() => workflow.checkIn('C7', '2468'), { code: 'CODPOS_USAGE_CHECK_IN_LOCKED', message: /refused for 300 s more/ });
  now += 5 * 60_000;
  t.match(workflow.checkIn('C7', '2468'), { courier: { id: 'C7', name: 'Courier Seven' } });
});
