/**
 * The daemon's PSP link for QR payments: the signed HTTP client of the `psp` section, or, with
 * `qr.pspSimulator` (`codposd --sim`), the PSP simulator started inside the daemon on a free
 * loopback port with a secret of this run and the client pointed at it, as the acquirer and
 * back-end simulators are in sim mode. The QR payment service starts and stops it with itself and
 * asks for the client at each use.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { HttpPspClient } from '../psp/client.js';
import { pspClientOptionsFromConfig } from '../psp/options.js';
import { hmacSigner } from '../psp/signing.js';
import { PspSimulator } from '../psp/simulator.js';
import type { PspClient } from '../psp/types.js';

/** The merchant the in-daemon simulator knows (sim mode has no contract with a real PSP). */
export const SIM_PSP_MERCHANT = 'SIM-MERCHANT';

export class QrPspLink {
  private httpClient: HttpPspClient | undefined;
  private sim: PspSimulator | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** The PSP client, once started with a `psp` section or in sim mode. */
  get client(): PspClient | undefined {
    return this.httpClient;
  }

  /** The in-daemon simulator (sim mode), for the local API's /v1/sim/wallet and /v1/sim/psp. */
  get simulator(): PspSimulator | undefined {
    return this.sim;
  }

  async start(): Promise<void> {
    if (this.config.qr?.pspSimulator) {
      // A secret of this run only: nothing outside the daemon signs for its simulator.
      const signer = hmacSigner(randomBytes(32));
      this.sim = new PspSimulator({ merchantId: SIM_PSP_MERCHANT, terminalId: this.config.terminal.id, signer });
      const { url } = await this.sim.start();
      this.httpClient = new HttpPspClient({
        url,
        merchantId: SIM_PSP_MERCHANT,
        terminalId: this.config.terminal.id,
        signer,
      });
      this.log.info({ url }, 'PSP simulator listening (sim mode)');
    } else if (this.config.psp) {
      this.httpClient = new HttpPspClient(pspClientOptionsFromConfig(this.config.psp, this.config.data.dir));
    }
  }

  async stop(): Promise<void> {
    this.httpClient?.close();
    this.httpClient = undefined;
    await this.sim?.stop();
    this.sim = undefined;
  }
}
