/** Courier PIN hashes, their cost caps, and the check-in lockout. */
import t from 'tap';
import { scryptSync } from 'node:crypto';
import { hashCourierPin, verifyCourierPin } from '../../../runtime/workflow/courier-pin.js';
import { WorkflowService } from '../../../runtime/workflow/service.js';
import { EventBus } from '../../../runtime/api/events.js';
import { validateConfig } from '../../../config/load.js';
import { openSpool } from '../host/fixtures.js';

/** A hash of `pin` with the given scrypt parameters, as a back-end could send it. */
function hashWith(pin: string, N: number, r: number, p: number): string {
  const salt = Buffer.from('0123456789abcdef');
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${scryptSync(pin, salt, 32, { N, r, p, maxmem: 512 * 1024 * 1024 }).toString('base64')}`;
}

t.test('a PIN hash verifies its PIN only; a hash in another format verifies nothing', async (t) => {
  const hash = hashCourierPin('4321');
  t.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  t.notMatch(hash, '4321');
  t.equal(await verifyCourierPin('4321', hash), true);
  t.equal(await verifyCourierPin('4322', hash), false);
  t.equal(await verifyCourierPin('4321', 'md5$abc'), false);
  t.equal(
    await verifyCourierPin('4321', hash.replace('$16384$', '$16383$')),
    false,
    'an N scrypt refuses (not a power of two) verifies nothing',
  );
  t.not(hashCourierPin('4321'), hash, 'a new salt each time');
});

t.test('the PIN is verified off the main thread: other callbacks run while scrypt works', async (t) => {
  const hash = hashCourierPin('4321');
  let ranMeanwhile = false;
  const verifying = verifyCourierPin('4321', hash);
  setImmediate(() => (ranMeanwhile = true));
  t.equal(await verifying, true);
  t.ok(ranMeanwhile, 'a callback queued after the verification started ran before it finished');
});

t.test(
  'a hash asking scrypt for more memory or passes than the box spends is refused with the reason; up to the cap it verifies',
  async (t) => {
    t.equal(
      await verifyCourierPin('4321', hashWith('4321', 32768, 8, 1)),
      true,
      'N=32768, r=8: 32 MiB, the cap itself',
    );
    await t.rejects(verifyCourierPin('4321', hashWith('4321', 65536, 8, 1)), {
      code: 'CODPOS_UPLINK_PIN_HASH_TOO_COSTLY',
      message:
        'the courier PIN hash from the back-end asks scrypt for N=65536, r=8, p=1 (64 MiB, 1 pass(es)); this terminal verifies at most 32 MiB (128 * N * r) and 4 passes: have the back-end hash PINs with cheaper parameters',
    });
    await t.rejects(verifyCourierPin('4321', hashWith('4321', 1024, 8, 8)), {
      code: 'CODPOS_UPLINK_PIN_HASH_TOO_COSTLY',
      message: /p=8 .* 4 passes/,
    });
    const huge = hashCourierPin('4321').replace('$16384$8$', '$1048576$64$');
    await t.rejects(
      verifyCourierPin('4321', huge),
      { code: 'CODPOS_UPLINK_PIN_HASH_TOO_COSTLY', message: /8192 MiB/ },
      'refused before scrypt runs',
    );
  },
);

t.test('five wrong PINs in a row lock check-in for five minutes, even for the right PIN', async (t) => {
  const spool = await openSpool(t);
  spool.tasks.replace([], [{ id: 'C7', name: 'Courier Seven', pinHash: hashCourierPin('2468') }]);
  let now = 1_000_000;
  const workflow = new WorkflowService(validateConfig({}), {
    spool: () => spool,
    events: new EventBus(),
    clock: () => now,
  });
  await workflow.start();
  for (let i = 0; i < 5; i++) await t.rejects(workflow.checkIn('C7', '0000'), { code: 'CODPOS_USAGE_CHECK_IN' });
  await t.rejects(workflow.checkIn('C7', '2468'), {
    code: 'CODPOS_USAGE_CHECK_IN_LOCKED',
    message: /refused for 300 s more/,
  });
  now += 5 * 60_000;
  t.match(await workflow.checkIn('C7', '2468'), { courier: { id: 'C7', name: 'Courier Seven' } });
});

t.test('check-ins sent together are verified one after another: the lockout counts them all', async (t) => {
  const spool = await openSpool(t);
  spool.tasks.replace([], [{ id: 'C7', name: 'Courier Seven', pinHash: hashCourierPin('2468') }]);
  const workflow = new WorkflowService(validateConfig({}), {
    spool: () => spool,
    events: new EventBus(),
    clock: () => 1_000_000,
  });
  await workflow.start();
  const attempts = [...Array(5).fill('0000'), '2468'].map((pin: string) =>
    workflow.checkIn('C7', pin).then(
      () => 'in',
      (error: { code: string }) => error.code,
    ),
  );
  t.same(
    await Promise.all(attempts),
    [...Array(5).fill('CODPOS_USAGE_CHECK_IN'), 'CODPOS_USAGE_CHECK_IN_LOCKED'],
    'the right PIN, sent with five wrong ones, is refused: check-in is locked',
  );
});

t.test(
  'a courier whose hash is too costly is refused with the reason, and it does not count as a wrong PIN',
  async (t) => {
    const spool = await openSpool(t);
    spool.tasks.replace(
      [],
      [
        { id: 'C7', name: 'Courier Seven', pinHash: hashCourierPin('2468') },
        { id: 'C8', name: 'Courier Eight', pinHash: hashCourierPin('1357').replace('$16384$', '$65536$') },
      ],
    );
    const workflow = new WorkflowService(validateConfig({}), {
      spool: () => spool,
      events: new EventBus(),
      clock: () => 1_000_000,
    });
    await workflow.start();
    for (let i = 0; i < 5; i++)
      await t.rejects(workflow.checkIn('C8', '1357'), { code: 'CODPOS_UPLINK_PIN_HASH_TOO_COSTLY' });
    t.match(await workflow.checkIn('C7', '2468'), { courier: { id: 'C7' } }, 'no lockout');
  },
);
