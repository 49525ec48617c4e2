/**
 * The drivers' public surface for the runtime and the CLI. Native parts
 * (serialport, node-hid, noble) load only when a transport of that kind opens.
 */
export type { Transport, DeviceState, DeviceStateName } from './transport/transport.js';
export { ReconnectingTransport, type ReconnectOptions } from './transport/reconnecting.js';
export { SerialTransport } from './transport/serial.js';
export { listSerialPorts, type SerialPortInfo } from './transport/serial-list.js';
export { HidTransport, listHidDevices, loadNodeHid, type HidDeviceInfo, type NodeHidLoader } from './transport/hid.js';
export { BleTransport, scanBle, loadNoble, type NobleLoader, type BlePeripheralInfo } from './transport/ble.js';
export { memoryPair, MemoryTransport } from './transport/memory.js';
export { openPtyPair, type PtyPair } from './transport/pty-pair.js';
export { ScannerDriver, type Scan, type ScannerMode } from './scanner/driver.js';
export { ScannerSim } from './scanner/sim.js';
export { CardReaderDriver, type CardChannel } from './card-reader/driver.js';
export { CardReaderSim, type SimCard } from './card-reader/sim.js';
export { PinpadDriver, type PinEntryResult, type PinpadIdentity } from './pinpad/driver.js';
export { PinpadSim } from './pinpad/sim.js';
export { PrinterDriver, type PrinterState } from './printer/driver.js';
export { PrinterSim } from './printer/sim.js';
export { EscPosBuilder, type MonoImage, type Alignment } from './printer/escpos.js';
export { PRINTER_PROFILES, printerProfile, type PrinterProfile } from './printer/profiles.js';
export { monoImageToPng } from './printer/png.js';
export {
  buildDevices,
  buildScanner,
  buildCardReader,
  buildPinpad,
  buildPrinter,
  startDevice,
  stopDevice,
  type BuiltDevice,
  type BuiltDevices,
  type FactoryDeps,
} from './factory.js';
export { startSimDevices, SIM_DEVICE_NAMES, type SimDevices, type SimDeviceName } from './sim-devices.js';
