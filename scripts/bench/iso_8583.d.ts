/** The slice of the untyped npm package iso_8583@2.6.7 the benchmark uses as its peer. */
declare module 'iso_8583' {
  type IsoJson = Record<string, string>;
  class Iso8583 {
    constructor(data?: IsoJson, customFormats?: Record<string, unknown>);
    validateMessage(): boolean | { error: string };
    getBufferMessage(): Buffer | { error: string };
    getIsoJSON(message: Buffer, config: Record<string, unknown>): IsoJson | { error: string };
  }
  export default Iso8583;
}
