/**
 * `codpos params show|apply|rollback` as processes (the built CLI) against the daemon codposd
 * --sim builds, running in the test's process on a temporary data directory.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codposAgainst } from '../helpers/cli.js';
import { startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';
import { parameterSet, signed } from '../runtime/params/params-fixtures.js';

function packageFile(dir: string, version: number): string {
  const set = parameterSet(version, { visaFloorLimit: 1000 * version, description: `limits ${version}` });
  const file = join(dir, `params-${version}.json`);
  writeFileSync(file, JSON.stringify(signed(set)));
  return file;
}

t.test('show, apply, a refused apply (exit 8 with its code), rollback', async (t) => {
  const dir = tempDataDir();
  await startDaemonIn(t, dir, { params: { trustLabKey: true } });
  const before = await codposAgainst(['params', 'show'], dir);
  t.equal(before.status, 0, before.stderr);
  t.match(before.stdout, /^parameters: as configured \(no package applied\)/);

  const applied = await codposAgainst(['params', 'apply', packageFile(dir, 3)], dir);
  t.equal(applied.status, 0, applied.stderr);
  t.equal(applied.stdout, 'package version 3 applied\n');
  const older = await codposAgainst(['params', 'apply', packageFile(dir, 2), '--json'], dir);
  t.equal(older.status, 8, 'the PARAMS area exit code');
  t.match(older.stderr + older.stdout, /CODPOS_PARAMS_VERSION/);
  const notJson = join(dir, 'junk.json');
  writeFileSync(notJson, 'not a package');
  const junk = await codposAgainst(['params', 'apply', notJson], dir);
  t.equal(junk.status, 8);
  t.match(junk.stderr, /junk.json: not a readable JSON package/);

  t.equal((await codposAgainst(['params', 'apply', packageFile(dir, 4)], dir)).status, 0);
  const shown = await codposAgainst(['params', 'show', '--json'], dir);
  t.match(JSON.parse(shown.stdout), {
    version: 4,
    description: 'limits 4',
    previousVersion: 3,
    applications: [{ aid: 'A0000000031010', floorLimit: 4000 }],
  });
  const back = await codposAgainst(['params', 'rollback'], dir);
  t.equal(back.status, 0, back.stderr);
  t.equal(back.stdout, 'rolled back to package version 3\n');
  const text = await codposAgainst(['params', 'show'], dir);
  t.match(text.stdout, /^parameters: package version 3 \(limits 3\), applied .* from api$/m);
  t.match(text.stdout, /^previous version: 4$/m);
  t.match(text.stdout, /^ {2}A0000000031010 {2}floor limit 3000 /m);
});
