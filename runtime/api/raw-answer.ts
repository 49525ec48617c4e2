/**
 * A route's answer that is not JSON (the status page's HTML, script and stylesheet): the
 * server sends its body as it is, with its content type and headers.
 */
export class RawAnswer {
  constructor(
    readonly contentType: string,
    readonly body: string,
    readonly headers: Record<string, string> = {},
  ) {}
}
