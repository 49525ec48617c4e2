/** Longitudinal redundancy check: XOR of the bytes (VeriFone PIN pads, our card reader protocol). */
export function lrc(data: Buffer, start = 0, end = data.length): number {
  let value = 0;
  for (let i = start; i < end; i++) value ^= data[i]!;
  return value;
}
