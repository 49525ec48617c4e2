/**
 * What a length prefixer is (jPOS' Prefixer): how a variable field's length is written
 * before its data, or nothing for a fixed field. Like an interpreter (interpreters/
 * interpreter.ts) each is one module with its writer, its checked reader and the
 * source the generated decoder splices in.
 */
import type { CompiledField } from '../compile.js';

export interface Prefixer {
  /** For messages and the docs, e.g. "bcd". */
  readonly name: string;
  /** Bytes the prefix of a field with `lengthDigits` length digits takes (0 for fixed). */
  prefixBytes(lengthDigits: number): number;
  /** The largest length such a prefix can carry. */
  largest(lengthDigits: number, prefixBytes: number): number;
  /** Writes `length` at out[pos] (room made); returns the offset after the prefix. */
  write(length: number, f: CompiledField, out: Buffer, pos: number): number;
  /** The length in the prefix at buf[pos] (its bytes are there); a bad byte is a PosError naming the field and offset. */
  read(buf: Buffer, pos: number, f: CompiledField): number;
  /**
   * Statements that check and read the prefix at `pos` into `const len`, throw FAULT when
   * it is bad or over the maximum, and move `pos` past it (the bounds are checked first).
   */
  snippet(f: CompiledField): string[];
  /** The tables the snippets use, by the names they use them under. */
  readonly helpers: Readonly<Record<string, unknown>>;
}

/** A source literal for an integer: nothing else from a dialect is ever pasted into generated code. */
export function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`ISO 8583 fast decoder: ${String(value)} is not an integer`);
  return String(value);
}

/** Hex form of a byte for error messages. */
export function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}
