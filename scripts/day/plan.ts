/**
 * The courier's day the player plays: who checks in, and what happens at each address. The
 * back-end simulator hands these tasks out; each delivery says how its COD is collected.
 */
import { s10CheckDigit } from '../../runtime/workflow/waybill.js';
import { hashCourierPin } from '../../runtime/workflow/courier-pin.js';
import { defaultSimTariff, type SimTaskList } from '../../runtime/uplink/simulator.js';

/** A UPU S10 waybill number with its check digit (RR + 8 digits + check + CH). */
export function s10(serial: string): string {
  return `RR${serial}${s10CheckDigit(serial)}CH`;
}

export type Visit =
  | { how: 'chip'; card: string }
  /** The chip does not answer: the same card's stripe is swiped (fallback). */
  | { how: 'fallback'; card: string }
  | { how: 'cash'; tendered: number }
  /** The issuer approves part of the COD; the rest is paid in cash. */
  | { how: 'partial'; card: string; approved: number; tendered: number }
  | { how: 'prepaid' }
  | { how: 'exception'; reason: 'refused' | 'not-home' };

export interface PlannedDelivery {
  waybill: string;
  codAmount: number;
  consignee: string;
  address: string;
  visit: Visit;
}

export interface PlannedPickup {
  waybill: string;
  shipper: string;
  address: string;
  weightGrams: number;
  destination: string;
  service: string;
}

export const COURIER = { id: 'C001', name: 'Sim Courier', pin: '1234' };
export const CLERK = 'DEPOT-07';

export const DELIVERIES: readonly PlannedDelivery[] = [
  {
    waybill: s10('12345678'),
    codAmount: 2350,
    consignee: 'A. Consignee',
    address: '1 Main Street',
    visit: { how: 'chip', card: 'visa-dda' },
  },
  {
    waybill: s10('20000001'),
    codAmount: 2500,
    consignee: 'B. Consignee',
    address: '2 Main Street',
    visit: { how: 'fallback', card: 'mute-chip' },
  },
  {
    waybill: s10('20000002'),
    codAmount: 1800,
    consignee: 'C. Consignee',
    address: '3 Main Street',
    visit: { how: 'cash', tendered: 2000 },
  },
  {
    waybill: s10('20000003'),
    codAmount: 4000,
    consignee: 'D. Consignee',
    address: '4 Main Street',
    visit: { how: 'partial', card: 'mc-cda', approved: 2500, tendered: 1500 },
  },
  {
    waybill: s10('20000004'),
    codAmount: 1200,
    consignee: 'E. Consignee',
    address: '5 Main Street',
    visit: { how: 'exception', reason: 'refused' },
  },
  {
    waybill: s10('20000005'),
    codAmount: 900,
    consignee: 'F. Consignee',
    address: '6 Main Street',
    visit: { how: 'exception', reason: 'not-home' },
  },
  {
    waybill: s10('20000006'),
    codAmount: 0,
    consignee: 'G. Consignee',
    address: '7 Main Street',
    visit: { how: 'prepaid' },
  },
];

export const PICKUPS: readonly PlannedPickup[] = [
  {
    waybill: s10('30000001'),
    shipper: 'H. Shipper',
    address: '8 Dock Road',
    weightGrams: 1200,
    destination: '10001',
    service: 'standard',
  },
  {
    waybill: s10('30000002'),
    shipper: 'I. Shipper',
    address: '9 Dock Road',
    weightGrams: 4800,
    destination: '94105',
    service: 'express',
  },
];

/** The task list the day's back-end hands out, with the tariff pickups are priced by. */
export function dayTaskList(): SimTaskList {
  return {
    tariff: defaultSimTariff(),
    couriers: [{ id: COURIER.id, name: COURIER.name, pinHash: hashCourierPin(COURIER.pin) }],
    tasks: [
      ...DELIVERIES.map((d, i) => ({
        id: `D${i + 1}`,
        waybill: d.waybill,
        kind: 'delivery' as const,
        codAmount: d.codAmount,
        currency: '840',
        consignee: d.consignee,
        address: d.address,
      })),
      ...PICKUPS.map((p, i) => ({
        id: `P${i + 1}`,
        waybill: p.waybill,
        kind: 'pickup' as const,
        codAmount: 0,
        currency: null,
        consignee: p.shipper,
        address: p.address,
      })),
    ],
  };
}
