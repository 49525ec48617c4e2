/**
 * The parameter package running on this box (docs/params.md, "Applying a package"): what the
 * payments read at the start of each payment (the kernel's terminal, the contactless
 * combinations, the receipt header) and what terminal management changes without a visit.
 *
 * A package offered (fleet link, HTTP uplink, local API) is verified against the keys installed
 * and the running version; a refused one changes nothing and is reported with its code. A
 * package that verifies is never applied while a card or QR payment is in progress: it is
 * reported `pending` and applied the moment the last payment in progress ends, so a payment runs
 * from its first to its last command under one set of parameters. Applying is synchronous: the
 * store's commit (active -> previous) and then the in-memory swap, with no await between them.
 *
 * Every report is published (params.applied, params.refused, params.pending, params.rolled-back),
 * logged with its code and queued in the outbox stream `params-report` for terminal management.
 */
import { PosError } from '../../config/errors.js';
import { contactlessCombinations } from '../../config/contactless.js';
import type { Config } from '../../config/schema.js';
import type { ContactlessCombination } from '../../emv/contactless/types.js';
import type { TerminalConfig } from '../../emv/kernel/index.js';
import { IdGenerator, STREAMS, type Spool, type StoredParamSet } from '../../spool/index.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import { kernelTerminal } from '../payment/terminal.js';
import { readTariff } from '../workflow/tariff.js';
import { loadOperatorKeys } from './operator-keys.js';
import { verifyParameterPackage } from './verify.js';
import type {
  OperatorKey,
  ParameterSet,
  ParamsReport,
  ParamsSource,
  RunningParams,
  VerifiedPackage,
  VerifyParameterPackage,
} from './types.js';

export interface ParamsServiceDeps {
  spool: () => Spool;
  events: EventBus;
  /** Default: verify.ts verifyParameterPackage. */
  verify?: VerifyParameterPackage;
  /** The operator keys the box trusts, read at start (default: operator-keys.ts loadOperatorKeys of the config). */
  operatorKeys?: () => readonly OperatorKey[];
  /** A report was queued (the link that sends `params-report` sends it now rather than at its next turn). */
  recordQueued?: () => void;
  now?: () => Date;
}

/** The package running, as verified. */
interface ActivePackage {
  verified: VerifiedPackage;
  appliedAt: number;
  source: ParamsSource;
}

/** What payments read while they run: built once per applied package, not per payment. */
interface Derived {
  terminal: TerminalConfig;
  combinations: ContactlessCombination[];
}

export class ParamsService implements Service {
  readonly name = 'params';
  private keys: readonly OperatorKey[] = [];
  private active: ActivePackage | undefined;
  private pending: { verified: VerifiedPackage; source: ParamsSource } | undefined;
  private previousVersion: number | null = null;
  private paymentsInProgress = 0;
  private derived: Derived | undefined;
  private ids: IdGenerator | undefined;
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly deps: ParamsServiceDeps,
  ) {}

  /**
   * Reads the stored package and verifies it again with the keys installed now: one that no
   * longer verifies (its key was removed, say) is logged and the configured parameters run.
   */
  async start(): Promise<void> {
    this.keys = this.deps.operatorKeys?.() ?? loadOperatorKeys(this.config);
    this.ids = new IdGenerator();
    const store = this.deps.spool().params;
    this.previousVersion = store.previous()?.version ?? null;
    this.state = { state: 'up' };
    const stored = store.running();
    if (stored) {
      try {
        this.active = {
          verified: this.check(stored.envelope, undefined, stored.appliedAt),
          appliedAt: stored.appliedAt,
          source: stored.source as ParamsSource,
        };
      } catch (error) {
        const code = (error as PosError).code ?? 'CODPOS_PARAMS_FORMAT';
        const reason = `stored parameter package version ${stored.version} no longer verifies (${(error as Error).message}): the configured parameters run`;
        this.log.error({ code, version: stored.version }, reason);
        this.state = { state: 'degraded', reason };
      }
    }
    this.derived = this.derive();
    if (this.active) this.log.info({ version: this.active.verified.set.version }, 'parameter package running');
  }

  async stop(): Promise<void> {
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  /**
   * Offers a package: verified, then applied at once, or pending while a payment is in progress.
   * Never throws for a package it refuses: the report says refused, with the code and reason,
   * and the running parameters are unchanged.
   */
  async offer(input: unknown, source: ParamsSource): Promise<ParamsReport> {
    let verified: VerifiedPackage;
    try {
      const newest = Math.max(this.active?.verified.set.version ?? 0, this.pending?.verified.set.version ?? 0);
      verified = this.check(input, newest === 0 ? undefined : newest);
    } catch (error) {
      const code = error instanceof PosError ? error.code : 'CODPOS_PARAMS_FORMAT';
      return this.report({
        outcome: 'refused',
        version: versionOf(input),
        source,
        code,
        reason: (error as Error).message,
      });
    }
    if (this.paymentsInProgress > 0) {
      this.pending = { verified, source };
      return this.report({
        outcome: 'pending',
        version: verified.set.version,
        source,
        reason: 'a payment is in progress: the package is applied when it ends',
      });
    }
    return this.applyNow(verified, source);
  }

  /**
   * Returns to the previous package (verified again). A package pending is dropped: it was
   * checked against the version rollback leaves. CODPOS_PARAMS_NO_PREVIOUS without one;
   * CODPOS_USAGE_BUSY during a payment.
   */
  async rollback(source: ParamsSource): Promise<ParamsReport> {
    if (this.paymentsInProgress > 0)
      throw new PosError('CODPOS_USAGE_BUSY', 'a payment is in progress: roll the parameters back after it');
    const store = this.deps.spool().params;
    const previous = store.previous();
    if (!previous)
      throw new PosError(
        'CODPOS_PARAMS_NO_PREVIOUS',
        'there is no previous parameter version to roll back to (none was applied before the running one)',
      );
    const verified = this.check(previous.envelope, undefined, previous.appliedAt);
    const restored: StoredParamSet = store.rollback();
    this.previousVersion = this.active?.verified.set.version ?? null;
    // As the store has it, so a restart shows the same.
    this.active = { verified, appliedAt: restored.appliedAt, source: restored.source as ParamsSource };
    this.pending = undefined;
    this.derived = this.derive();
    return this.report({ outcome: 'rolled-back', version: restored.version, source });
  }

  /**
   * A card or QR payment starts: nothing is applied until the returned `end` is called (once;
   * a second call does nothing). A package that waited is applied when the last one ends.
   */
  paymentStarted(): () => void {
    this.paymentsInProgress++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.paymentsInProgress--;
      if (this.paymentsInProgress === 0 && this.pending) {
        const { verified, source } = this.pending;
        this.pending = undefined;
        // Called from a payment's end: a failure here (the spool refusing the commit) is logged,
        // never thrown into the payment that just ended; the running parameters stay.
        try {
          void this.applyNow(verified, source).catch((error: unknown) =>
            this.log.error({ err: error }, 'the pending parameter package could not be applied'),
          );
        } catch (error) {
          this.log.error(
            { err: error, version: verified.set.version },
            'the pending parameter package could not be applied',
          );
        }
      }
    };
  }

  /** The kernel's terminal: the configuration overlaid with the running package. */
  terminal(): TerminalConfig {
    return this.current().terminal;
  }

  /** Entry Point's combinations; the same array until a package changes them. */
  contactless(): ContactlessCombination[] {
    return this.current().combinations;
  }

  /** The lines at the top of every receipt; undefined: the merchant name as configured. */
  receiptHeader(): string[] | undefined {
    return this.active?.verified.set.receiptHeader;
  }

  running(): RunningParams {
    const set = this.active?.verified.set;
    const terminal = this.terminal();
    const tariff = set?.tariff !== undefined ? this.deps.spool().tasks.tariff() : undefined;
    return {
      version: set?.version ?? null,
      ...(set ? { issuedAt: set.issuedAt } : {}),
      ...(set?.description !== undefined ? { description: set.description } : {}),
      ...(this.active ? { appliedAt: new Date(this.active.appliedAt).toISOString(), source: this.active.source } : {}),
      previousVersion: this.previousVersion,
      pendingVersion: this.pending?.verified.set.version ?? null,
      applications: terminal.applications.map((app) => ({
        aid: app.aid,
        floorLimit: app.floorLimit,
        tacDenial: app.tacDenial,
        tacOnline: app.tacOnline,
        tacDefault: app.tacDefault,
      })),
      caKeys: terminal.caKeys.map((key) => ({ rid: key.rid, index: key.index, expiry: key.expiry })),
      revocations: terminal.revokedCertificates?.length ?? 0,
      contactless: this.contactless().length > 0,
      ...(tariff ? { tariffVersion: tariff.version } : {}),
      ...(set?.receiptHeader ? { receiptHeader: set.receiptHeader } : {}),
    };
  }

  /** Store commit, then the in-memory swap: nothing awaits between them. */
  private applyNow(verified: VerifiedPackage, source: ParamsSource): Promise<ParamsReport> {
    const { set } = verified;
    const spool = this.deps.spool();
    const tariff = set.tariff === undefined ? undefined : { version: readTariff(set.tariff).version, body: set.tariff };
    spool.db.transaction(() => {
      spool.params.apply(set.version, JSON.stringify(verified.envelope), source);
      if (tariff) spool.tasks.putTariff(tariff);
    })();
    const stored = spool.params.running()!;
    this.previousVersion = this.active?.verified.set.version ?? null;
    this.active = { verified, appliedAt: stored.appliedAt, source };
    this.derived = this.derive();
    return this.report({ outcome: 'applied', version: set.version, source });
  }

  /**
   * Verification, and the parts verify.ts does not read (the tariff, by workflow/tariff.ts).
   * `appliedAt`: a package applied before (at start, at a rollback) is checked as of then: a CA
   * key that has expired since is the kernel's to skip (emv/kernel/oda.ts), not a reason to drop
   * the whole package and run the configured parameters.
   */
  private check(input: unknown, runningVersion: number | undefined, appliedAt?: number): VerifiedPackage {
    const verified = (this.deps.verify ?? verifyParameterPackage)(input, {
      operatorKeys: this.keys,
      ...(runningVersion !== undefined ? { runningVersion } : {}),
      terminalId: this.config.terminal.id,
      ...(this.config.fleet?.group !== undefined ? { group: this.config.fleet.group } : {}),
      now: appliedAt !== undefined ? new Date(appliedAt) : (this.deps.now?.() ?? new Date()),
    });
    if (verified.set.tariff !== undefined) {
      try {
        readTariff(verified.set.tariff);
      } catch (error) {
        throw new PosError('CODPOS_PARAMS_CONTENT', `the package's tariff: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    return verified;
  }

  private current(): Derived {
    if (!this.derived)
      throw new PosError(
        'CODPOS_DEVICE_PAYMENT_UNAVAILABLE',
        'the parameters are not loaded: the params service is not started',
      );
    return this.derived;
  }

  private derive(): Derived {
    const base = kernelTerminal(this.config);
    const set = this.active?.verified.set;
    if (!set) return { terminal: base, combinations: contactlessCombinations(this.config) };
    return { terminal: overlay(base, set), combinations: combinationsOf(this.config, set) };
  }

  private async report(
    fields: Pick<ParamsReport, 'outcome' | 'version' | 'source' | 'code' | 'reason'>,
  ): Promise<ParamsReport> {
    const report: ParamsReport = {
      id: (this.ids ??= new IdGenerator()).next(),
      version: fields.version,
      outcome: fields.outcome,
      ...(fields.code !== undefined ? { code: fields.code } : {}),
      ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
      source: fields.source,
      runningVersion: this.active?.verified.set.version ?? null,
      terminal: this.config.terminal.id,
      at: (this.deps.now?.() ?? new Date()).toISOString(),
    };
    const line = {
      code: report.code,
      version: report.version,
      runningVersion: report.runningVersion,
      source: report.source,
    };
    if (report.outcome === 'refused') this.log.warn({ ...line, reason: report.reason }, 'parameter package refused');
    else this.log.info(line, `parameter package ${report.outcome}`);
    this.deps.events.publish(`params.${report.outcome}`, { ...report });
    try {
      await this.deps.spool().outbox.enqueue(STREAMS.paramsReport, report, { id: report.id });
      this.deps.recordQueued?.();
    } catch (error) {
      this.log.error({ err: error, reportId: report.id }, 'the parameter report could not be queued');
    }
    return report;
  }
}

/** The configured terminal with the package's EMV parts: applications, CA keys, revocations, capabilities. */
function overlay(base: TerminalConfig, set: ParameterSet): TerminalConfig {
  return {
    ...base,
    ...(set.emv.terminalType !== undefined ? { terminalType: set.emv.terminalType } : {}),
    ...(set.emv.capabilities !== undefined ? { capabilities: set.emv.capabilities.toUpperCase() } : {}),
    ...(set.emv.additionalCapabilities !== undefined
      ? { additionalCapabilities: set.emv.additionalCapabilities.toUpperCase() }
      : {}),
    applications: set.emv.applications.map((app) => ({
      ...app,
      aid: app.aid.toUpperCase(),
      tacDenial: app.tacDenial.toUpperCase(),
      tacOnline: app.tacOnline.toUpperCase(),
      tacDefault: app.tacDefault.toUpperCase(),
    })),
    caKeys: set.caKeys.map((key) => ({
      rid: key.rid.toUpperCase(),
      index: key.index.toUpperCase(),
      modulus: key.modulus.toUpperCase(),
      exponent: key.exponent.toUpperCase(),
      expiry: key.expiry,
    })),
    revokedCertificates: set.revocations.map((r) => ({
      rid: r.rid.toUpperCase(),
      index: r.index.toUpperCase(),
      serial: r.serial.toUpperCase(),
    })),
  };
}

/** The package's combinations read as the config's (with the config's defaults), or the configured ones. */
function combinationsOf(config: Config, set: ParameterSet): ContactlessCombination[] {
  if (!set.contactless) return contactlessCombinations(config);
  const combinations = set.contactless.combinations.map((c) => ({
    statusCheck: false,
    zeroAmountAllowed: true,
    magStripeMode: false,
    ...c,
  })) as unknown as Config['emv']['contactless']['combinations'];
  return contactlessCombinations({ emv: { ...config.emv, contactless: { ...config.emv.contactless, combinations } } });
}

/** The version a refused package claims, when its payload reads that far (for the report). */
function versionOf(input: unknown): number | null {
  try {
    const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
    const envelope = (typeof text === 'string' ? JSON.parse(text) : text) as { payload?: unknown };
    if (typeof envelope?.payload !== 'string') return null;
    const set = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { version?: unknown };
    return Number.isSafeInteger(set.version) ? (set.version as number) : null;
  } catch {
    return null;
  }
}
