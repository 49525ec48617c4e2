/**
 * `codpos quote` as a process (the built CLI) against the daemon codposd --sim builds, running
 * in the test's process on a temporary data directory: the price from the simulator's tariff,
 * as lines and as JSON, and what does not price exiting 2 saying why.
 */
import t from 'tap';
import { codposAgainst } from '../helpers/cli.js';
import { startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';

t.test(
  'codpos quote prints the zone, band, price, COD fee and total; --json the quote; what does not price exits 2 naming it',
  async (t) => {
    const dir = tempDataDir();
    await startDaemonIn(t, dir);

    const lines = await codposAgainst(
      ['quote', '--destination', '112 01', '--weight', '4000', '--service', 'express', '--cod', '20000'],
      dir,
    );
    t.equal(lines.status, 0, lines.stderr);
    t.equal(
      lines.stdout,
      [
        'zone     metro (Metro area), by postcode prefix 11',
        'band     M (up to 5000 g) for 4000 g, express',
        'price    USD 15.00',
        'COD fee  USD 3.50 on USD 200.00',
        'total    USD 18.50',
        'tariff   sim-2026.1',
        '',
      ].join('\n'),
    );

    const json = await codposAgainst(['quote', '--destination', 'NYC', '--weight', '800', '--json'], dir);
    t.equal(json.status, 0, json.stderr);
    t.match(JSON.parse(json.stdout), {
      zone: 'city',
      matchedBy: { areaCode: 'NYC' },
      band: 'S',
      service: 'standard',
      price: 500,
      codFee: 0,
      total: 500,
      currency: '840',
      tariffVersion: 'sim-2026.1',
    });
    t.notMatch(
      (await codposAgainst(['quote', '--destination', 'NYC', '--weight', '800'], dir)).stdout,
      'COD fee',
      'no COD, no COD fee line',
    );

    const heavy = await codposAgainst(['quote', '--destination', '10001', '--weight', '31000'], dir);
    t.equal(heavy.status, 2);
    t.match(heavy.stderr, 'weightGrams 31000: over the last weight band of tariff sim-2026.1 (XL, up to 30000 g)');
    const nowhere = await codposAgainst(['quote', '--destination', 'ZZ9', '--weight', '100'], dir);
    t.equal(nowhere.status, 2);
    t.match(nowhere.stderr, 'destination ZZ9: no zone of tariff sim-2026.1 covers this postcode or area code');
    const badWeight = await codposAgainst(['quote', '--destination', '10001', '--weight', '1.5kg'], dir);
    t.equal(badWeight.status, 2);
    t.match(badWeight.stderr, '--weight: expected a whole number of grams, not 1.5kg');
    const missing = await codposAgainst(['quote', '--weight', '100'], dir);
    t.equal(missing.status, 2);
    t.match(missing.stderr, "required option '--destination <postcode-or-area>' not specified");
  },
);
