/** Helpers for split-buffer tests (pg-protocol style): feed a stream cut at every offset. */
export function splitsOf(stream: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 0; i <= stream.length; i++) out.push([stream.subarray(0, i), stream.subarray(i)]);
  out.push([...stream].map((b) => Buffer.from([b])));
  return out;
}
