/**
 * The back-end's tariff and the price quote a courier gives at a pickup, offline.
 *
 * The back-end sends the tariff with the task list (docs/workflow.md, "Tariff and quote"): zones
 * found by postcode prefix or area code, a price per weight band for each service in each zone,
 * the fee for collecting cash on delivery, the currency and a version. `readTariff` checks one
 * strictly and names the first fault (the uplink then keeps the cached one); `quote` prices a
 * parcel with it. Pure: no I/O, no clock. Amounts are integer minor units throughout.
 */
import { PosError } from '../../config/errors.js';

export interface TariffZone {
  id: string;
  name: string;
  /** Postcodes starting with one of these are in the zone (the longest prefix over all zones wins). */
  postcodePrefixes: string[];
  /** Area codes that name the zone exactly (an exact area code wins over any postcode prefix). */
  areaCodes: string[];
}

export interface WeightBand {
  id: string;
  /** Inclusive upper limit; a band starts one gram above the one before it. */
  upToGrams: number;
}

export interface TariffService {
  id: string;
  /** Zone id -> one price per weight band (same order), or null where the service is not offered. */
  prices: Record<string, Array<number | null>>;
}

export interface CodFee {
  /** Charged on every parcel with cash on delivery. */
  fixed: number;
  /** Plus this share of the COD amount, in basis points (150 = 1.5 %). */
  rateBasisPoints: number;
  /** The fee is never below this when there is a COD amount. */
  minimum: number;
}

export interface Tariff {
  version: string;
  /** ISO 4217 numeric code, like `terminal.currency`. */
  currency: string;
  zones: TariffZone[];
  /** Ascending by `upToGrams`. */
  weightBands: WeightBand[];
  /** The first is the service quoted when none is named. */
  services: TariffService[];
  codFee: CodFee;
}

export interface QuoteInput {
  tariff: Tariff;
  /** A postcode or an area code; spaces and hyphens are ignored, letters taken in upper case. */
  destination: string;
  weightGrams: number;
  /** Default: the tariff's first service. */
  service?: string;
  /** Cash to collect on delivery, minor units: adds the COD fee. */
  codAmount?: number;
}

export interface Quote {
  zone: string;
  zoneName: string;
  /** How the zone was found: the area code, or the postcode prefix that matched. */
  matchedBy: { areaCode: string } | { postcodePrefix: string };
  band: string;
  bandUpToGrams: number;
  service: string;
  weightGrams: number;
  price: number;
  codAmount: number;
  codFee: number;
  total: number;
  currency: string;
  tariffVersion: string;
}

/** Largest COD amount quoted: keeps `codAmount * rateBasisPoints` exact in a double. */
const MAX_COD_AMOUNT = 100_000_000_000;
const MAX_WEIGHT_GRAMS = 1_000_000;

/** A destination, a postcode prefix or an area code as compared: no spaces or hyphens, upper case. */
export function normalizeDestination(text: string): string {
  return text.replace(/[\s-]+/g, '').toUpperCase();
}

/**
 * Prices one parcel. Errors (USAGE, each naming what is wrong): no zone covers the destination,
 * the weight is over the last band, the service is unknown or not offered there, bad input.
 *
 * Rounding: the COD fee's percentage part is `codAmount * rateBasisPoints / 10000` rounded half
 * up to a whole minor unit (amounts are never negative, so half up is half away from zero); the
 * fee is then at least `minimum`. Every other amount is a whole number taken from the tariff.
 */
export function quote(input: QuoteInput): Quote {
  const { tariff } = input;
  if (typeof input.destination !== 'string' || normalizeDestination(input.destination) === '')
    throw quoteUsage('destination: expected a postcode or an area code');
  const weight = input.weightGrams;
  if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight <= 0 || weight > MAX_WEIGHT_GRAMS) {
    throw quoteUsage(
      `weightGrams: expected a whole number of grams from 1 to ${MAX_WEIGHT_GRAMS}, not ${String(weight)}`,
    );
  }
  const codAmount = input.codAmount ?? 0;
  if (
    typeof codAmount !== 'number' ||
    !Number.isSafeInteger(codAmount) ||
    codAmount < 0 ||
    codAmount > MAX_COD_AMOUNT
  ) {
    throw quoteUsage(
      `codAmount: expected a whole number of minor units from 0 to ${MAX_COD_AMOUNT}, not ${String(codAmount)}`,
    );
  }

  const destination = normalizeDestination(input.destination);
  const found = findZone(tariff, destination);
  if (!found) {
    throw new PosError(
      'CODPOS_USAGE_QUOTE_NO_ZONE',
      `destination ${destination}: no zone of tariff ${tariff.version} covers this postcode or area code`,
      { details: { destination, tariffVersion: tariff.version } },
    );
  }
  const bandIndex = tariff.weightBands.findIndex((band) => weight <= band.upToGrams);
  if (bandIndex < 0) {
    const last = tariff.weightBands[tariff.weightBands.length - 1]!;
    throw new PosError(
      'CODPOS_USAGE_QUOTE_WEIGHT',
      `weightGrams ${weight}: over the last weight band of tariff ${tariff.version} (${last.id}, up to ${last.upToGrams} g)`,
      { details: { weightGrams: weight, maxGrams: last.upToGrams } },
    );
  }
  const band = tariff.weightBands[bandIndex]!;
  const serviceId = input.service ?? tariff.services[0]!.id;
  const service = tariff.services.find((s) => s.id === serviceId);
  if (!service) {
    throw new PosError(
      'CODPOS_USAGE_QUOTE_SERVICE',
      `service ${String(serviceId)}: tariff ${tariff.version} has ${tariff.services.map((s) => s.id).join(', ')}`,
      { details: { service: serviceId } },
    );
  }
  const price = service.prices[found.zone.id]![bandIndex];
  if (price === null || price === undefined) {
    throw new PosError(
      'CODPOS_USAGE_QUOTE_SERVICE',
      `service ${service.id} is not offered to zone ${found.zone.id} for band ${band.id} (up to ${band.upToGrams} g) in tariff ${tariff.version}`,
      {
        details: { service: service.id, zone: found.zone.id, band: band.id },
      },
    );
  }
  const codFee = codFeeFor(tariff.codFee, codAmount);
  return {
    zone: found.zone.id,
    zoneName: found.zone.name,
    matchedBy: found.matchedBy,
    band: band.id,
    bandUpToGrams: band.upToGrams,
    service: service.id,
    weightGrams: weight,
    price,
    codAmount,
    codFee,
    total: price + codFee,
    currency: tariff.currency,
    tariffVersion: tariff.version,
  };
}

/** The COD fee on `codAmount` (0 when there is nothing to collect); rounding as `quote` states. */
export function codFeeFor(fee: CodFee, codAmount: number): number {
  if (codAmount === 0) return 0;
  const share = Math.floor((codAmount * fee.rateBasisPoints + 5_000) / 10_000);
  return Math.max(fee.minimum, fee.fixed + share);
}

/** An exact area code first; otherwise the longest postcode prefix the destination starts with. */
function findZone(
  tariff: Tariff,
  destination: string,
): { zone: TariffZone; matchedBy: Quote['matchedBy'] } | undefined {
  for (const zone of tariff.zones)
    if (zone.areaCodes.includes(destination)) return { zone, matchedBy: { areaCode: destination } };
  let best: { zone: TariffZone; prefix: string } | undefined;
  for (const zone of tariff.zones) {
    for (const prefix of zone.postcodePrefixes) {
      if (destination.startsWith(prefix) && prefix.length > (best?.prefix.length ?? 0)) best = { zone, prefix };
    }
  }
  return best && { zone: best.zone, matchedBy: { postcodePrefix: best.prefix } };
}

/**
 * Reads a tariff as the back-end sent it, strictly: throws CODPOS_UPLINK_BAD_TARIFF naming the
 * first fault (`tariff.services[1].prices.remote[2]: ...`). Fields it does not know are ignored,
 * so a back-end may add some before the terminal knows them. Prefixes and area codes come back
 * normalized (normalizeDestination).
 */
export function readTariff(raw: unknown): Tariff {
  const root = object(raw, 'tariff');
  const version = text(root.version, 'tariff.version', 64);
  const currency = root.currency;
  if (typeof currency !== 'string' || !/^[0-9]{3}$/.test(currency))
    fault('tariff.currency', 'expected an ISO 4217 numeric code such as "840"', currency);

  const zones = list(root.zones, 'tariff.zones').map((entry, i): TariffZone => {
    const path = `tariff.zones[${i}]`;
    const zone = object(entry, path);
    const codes = (key: 'postcodePrefixes' | 'areaCodes') =>
      list(zone[key] ?? [], `${path}.${key}`, 0).map((code, j) => {
        const normalized = normalizeDestination(text(code, `${path}.${key}[${j}]`, 16));
        if (!/^[A-Z0-9]+$/.test(normalized)) fault(`${path}.${key}[${j}]`, 'expected letters and digits', code);
        return normalized;
      });
    const read: TariffZone = {
      id: text(zone.id, `${path}.id`, 32),
      name: zone.name === undefined ? text(zone.id, `${path}.id`, 32) : text(zone.name, `${path}.name`, 64),
      postcodePrefixes: codes('postcodePrefixes'),
      areaCodes: codes('areaCodes'),
    };
    if (read.postcodePrefixes.length + read.areaCodes.length === 0)
      refuse(path, `zone ${read.id} needs at least one postcode prefix or area code`);
    return read;
  });
  unique(
    zones.map((z) => z.id),
    (i) => `tariff.zones[${i}].id`,
    'zone',
  );
  // One postcode prefix or area code in two zones would make the zone depend on list order.
  const owner = new Map<string, string>();
  zones.forEach((zone, i) => {
    for (const [key, codes] of [
      ['postcodePrefixes', zone.postcodePrefixes],
      ['areaCodes', zone.areaCodes],
    ] as const) {
      codes.forEach((code, j) => {
        const name = `${key === 'areaCodes' ? 'area code' : 'postcode prefix'} ${code}`;
        const first = owner.get(name);
        if (first !== undefined) refuse(`tariff.zones[${i}].${key}[${j}]`, `${name} is already in zone ${first}`);
        owner.set(name, zone.id);
      });
    }
  });

  const weightBands = list(root.weightBands, 'tariff.weightBands').map((entry, i): WeightBand => {
    const band = object(entry, `tariff.weightBands[${i}]`);
    return {
      id: text(band.id, `tariff.weightBands[${i}].id`, 32),
      upToGrams: whole(band.upToGrams, `tariff.weightBands[${i}].upToGrams`, 1, MAX_WEIGHT_GRAMS),
    };
  });
  unique(
    weightBands.map((b) => b.id),
    (i) => `tariff.weightBands[${i}].id`,
    'weight band',
  );
  weightBands.forEach((band, i) => {
    const before = weightBands[i - 1];
    if (before && band.upToGrams <= before.upToGrams)
      fault(
        `tariff.weightBands[${i}].upToGrams`,
        `expected more than the band before it (${before.upToGrams})`,
        band.upToGrams,
      );
  });

  const services = list(root.services, 'tariff.services').map((entry, i): TariffService => {
    const path = `tariff.services[${i}]`;
    const service = object(entry, path);
    const id = text(service.id, `${path}.id`, 32);
    const prices = object(service.prices, `${path}.prices`);
    for (const zoneId of Object.keys(prices))
      if (!zones.some((z) => z.id === zoneId)) refuse(`${path}.prices.${zoneId}`, `no zone is called ${zoneId}`);
    const read: Record<string, Array<number | null>> = {};
    for (const zone of zones) {
      const row = list(prices[zone.id], `${path}.prices.${zone.id}`, 0);
      if (row.length !== weightBands.length)
        refuse(
          `${path}.prices.${zone.id}`,
          `expected ${weightBands.length} prices, one per weight band, not ${row.length}`,
        );
      read[zone.id] = row.map((price, k) =>
        price === null ? null : whole(price, `${path}.prices.${zone.id}[${k}]`, 0, MAX_COD_AMOUNT),
      );
    }
    return { id, prices: read };
  });
  unique(
    services.map((s) => s.id),
    (i) => `tariff.services[${i}].id`,
    'service',
  );

  const fee = object(root.codFee, 'tariff.codFee');
  const codFee: CodFee = {
    fixed: whole(fee.fixed ?? 0, 'tariff.codFee.fixed', 0, MAX_COD_AMOUNT),
    rateBasisPoints: whole(fee.rateBasisPoints ?? 0, 'tariff.codFee.rateBasisPoints', 0, 10_000),
    minimum: whole(fee.minimum ?? 0, 'tariff.codFee.minimum', 0, MAX_COD_AMOUNT),
  };
  return { version, currency: currency as string, zones, weightBands, services, codFee };
}

function quoteUsage(message: string): PosError {
  return new PosError('CODPOS_USAGE_QUOTE', message);
}

/** The first fault: where it is, what was expected and what came instead. */
function fault(path: string, expected: string, value: unknown): never {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value);
  refuse(path, `${expected}, not ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}`);
}

function refuse(path: string, problem: string): never {
  throw new PosError('CODPOS_UPLINK_BAD_TARIFF', `${path}: ${problem}`, { details: { path } });
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fault(path, 'expected an object', Array.isArray(value) ? 'a list' : value);
  return value as Record<string, unknown>;
}

function list(value: unknown, path: string, min = 1): unknown[] {
  if (!Array.isArray(value)) fault(path, 'expected a list', value);
  if (value.length < min) fault(path, `expected at least ${min}`, value);
  return value;
}

function text(value: unknown, path: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max)
    fault(path, `expected text of 1 to ${max} characters`, value);
  return value;
}

function whole(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    fault(path, `expected a whole number from ${min} to ${max}`, value);
  return value;
}

function unique(ids: string[], path: (index: number) => string, what: string): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) refuse(path(i), `${what} ${id} is listed twice`);
    seen.add(id);
  });
}
