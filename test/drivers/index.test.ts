import t from 'tap';
import { createRequire } from 'node:module';

t.test(
  'the drivers load without loading node-hid or noble (a box without libusb or Bluetooth still starts)',
  async (t) => {
    const drivers = await import('../../drivers/index.js');
    t.type(drivers.buildDevices, 'function');
    t.type(drivers.ScannerDriver, 'function');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    t.notOk(
      loaded.some((path) => /node_modules[\\/]node-hid[\\/]/.test(path)),
      'node-hid not loaded',
    );
    t.notOk(
      loaded.some((path) => /node_modules[\\/]@abandonware[\\/]noble[\\/]/.test(path)),
      'noble not loaded',
    );
  },
);
