/**
 * The script language of `codpos sim devices`: one command per line, so a
 * technician (or a test) drives the simulated devices from a terminal or a
 * file. Each command returns the line to print.
 *
 *   scan <data> [symbology]        the scanner reads a code (default Code 128)
 *   insert <card> | remove         chip slot (card = a virtual card profile)
 *   swipe <card>                   magstripe
 *   cards                          list the virtual card profiles
 *   press <digits> | enter | clear | cancel     PIN pad keys
 *   paper out | paper in | cover open | cover close
 *   unplug <device> | plug <device>             device = scanner, card-reader, pinpad, printer
 *   printed                        what the printer has printed so far
 *   help
 */
import { PosError } from '../config/errors.js';
import { VirtualCard, loadCardProfile, listCardProfiles } from '../emv/card/index.js';
import { SIM_DEVICE_NAMES, type SimDeviceName, type SimDevices } from './sim-devices.js';
import type { Symbology } from './scanner/aim.js';

export const SIM_SCRIPT_HELP = [
  'scan <data> [symbology]      e.g. scan RR123456785CH, scan 4006381333931 EAN-13',
  'insert <card> | remove       chip slot; cards: ' + 'see `cards`',
  'swipe <card>                 magstripe',
  'cards                        list virtual card profiles',
  'press <digits> | enter | clear | cancel    PIN pad keys',
  'paper out | paper in | cover open | cover close',
  'unplug <device> | plug <device>            ' + SIM_DEVICE_NAMES.join(', '),
  'printed                      pages printed so far',
];

const SYMBOLOGIES: Symbology[] = [
  'EAN-13',
  'EAN-8',
  'UPC-E',
  'Code 128',
  'GS1-128',
  'Code 39',
  'Code 93',
  'Codabar',
  'Interleaved 2 of 5',
  'QR Code',
  'Data Matrix',
  'PDF417',
  'Aztec',
  'GS1 DataBar',
];

function usage(message: string): PosError {
  return new PosError('CODPOS_USAGE_SIM_COMMAND', message);
}

export async function runSimCommand(devices: SimDevices, line: string): Promise<string> {
  const words = line.trim().split(/\s+/).filter(Boolean);
  const [verb, ...args] = words;
  const rest = args.join(' ');
  switch (verb?.toLowerCase()) {
    case undefined:
      return '';
    case 'help':
      return SIM_SCRIPT_HELP.join('\n');
    case 'scan': {
      if (!args[0]) throw usage('scan: give the code to read, e.g. scan RR123456785CH');
      const symbology = (args.slice(1).join(' ') || 'Code 128') as Symbology;
      if (!SYMBOLOGIES.includes(symbology))
        throw usage(`scan: unknown symbology "${symbology}"; use one of ${SYMBOLOGIES.join(', ')}`);
      await devices.scanner.scan(args[0], symbology);
      return `scanner: read ${symbology} ${args[0]}`;
    }
    case 'cards':
      return listCardProfiles().join('\n');
    // Card events are not awaited: with no driver attached their delivery takes the link's three tries.
    case 'insert':
      void devices.cardReader.insert(new VirtualCard(loadCardProfile(requireArg(rest, 'insert', 'card profile'))));
      return `card reader: ${rest} inserted`;
    case 'remove':
      void devices.cardReader.remove();
      return 'card reader: card removed';
    case 'swipe':
      void devices.cardReader.swipe(new VirtualCard(loadCardProfile(requireArg(rest, 'swipe', 'card profile'))));
      return `card reader: ${rest} swiped`;
    case 'press':
      if (!/^\d+$/.test(rest)) throw usage('press: give digits, e.g. press 1234');
      if (!devices.pinpad.entering) return 'pinpad: no PIN entry in progress (keys ignored)';
      devices.pinpad.press(rest);
      return `pinpad: ${'*'.repeat(rest.length)}`;
    case 'enter':
      devices.pinpad.enter();
      return 'pinpad: enter';
    case 'clear':
      devices.pinpad.clearKey();
      return 'pinpad: cleared';
    case 'cancel':
      devices.pinpad.cancelKey();
      return 'pinpad: cancel';
    case 'paper':
      if (rest === 'out') devices.printer.paperOut();
      else if (rest === 'in') devices.printer.paperIn();
      else throw usage('paper: say "paper out" or "paper in"');
      return `printer: paper ${rest}`;
    case 'cover':
      if (rest === 'open') devices.printer.openCover();
      else if (rest === 'close') devices.printer.closeCover();
      else throw usage('cover: say "cover open" or "cover close"');
      return `printer: cover ${rest}`;
    case 'unplug':
      devices.unplug(deviceName(rest));
      return `${rest}: unplugged`;
    case 'plug':
      await devices.plug(deviceName(rest));
      return `${rest}: plugged in`;
    case 'printed':
      return (
        devices.printer.pages.map((page, i) => [`--- page ${i + 1} ---`, ...page].join('\n')).join('\n') ||
        '(nothing printed)'
      );
    default:
      throw usage(`unknown command "${verb}"; type help`);
  }
}

function requireArg(value: string, verb: string, what: string): string {
  if (!value) throw usage(`${verb}: give the ${what}, e.g. ${verb} visa-dda`);
  return value;
}

function deviceName(value: string): SimDeviceName {
  if (!(SIM_DEVICE_NAMES as readonly string[]).includes(value))
    throw usage(`unknown device "${value}"; use ${SIM_DEVICE_NAMES.join(', ')}`);
  return value as SimDeviceName;
}
