/**
 * What an interpreter is (jPOS' Interpreter): how a field's units (digits, characters or
 * bytes) are written as bytes and read back. Each one is a module of its own holding
 * the three things the codec runs: the encoder, the checked reader (which refuses with
 * a PosError naming the field and byte offset), and the source the generated decoder
 * (decode-fast.ts) splices in for it. Adding an encoding is one such module and one
 * table test (test/emv/iso8583/interpreters.test.ts).
 */
import type { CompiledField } from '../compile.js';
import type { FieldValue } from '../message.js';
import type { Scratch } from '../scratch.js';

/** Where field text comes from while one message is read (see text-source.ts). */
export interface TextSource {
  /** buf[start, end) as a string; the bytes are already checked to be ASCII. */
  text(buf: Buffer, start: number, end: number): string;
}

/** What a snippet knows of the place it is spliced into. */
export interface SnippetSite {
  /** Where the value goes: an assignable expression such as `out[35]`. */
  into: string;
  /** An expression for the field's length in its own units (a literal when fixed). */
  len: string;
  /** An expression for the bytes its data takes (a literal when fixed). */
  size: string;
  /** An expression for the field's CompiledField (for calling a reader with it). */
  field: string;
  /** True in a dialect whose MTI is ASCII: `s` then holds the whole message as latin1 text. */
  textDialect: boolean;
}

export interface Interpreter {
  /** For messages and the docs, e.g. "bcd". */
  readonly name: string;
  /** Bytes `length` units take on the wire. */
  dataBytes(length: number): number;
  /** `dataBytes` as source, for a length known only at run time. */
  sizeSource(len: string): string;
  /**
   * Checks `value` against the field (type, length, characters), writes its length
   * prefix through the field's prefixer and then the data at `pos`; returns the offset after it.
   */
  encode(value: unknown, f: CompiledField, out: Scratch, pos: number): number;
  /** Reads `length` units at buf[pos] (the bytes are there); a fault is a PosError naming the field and offset. */
  read(buf: Buffer, pos: number, length: number, f: CompiledField, source: TextSource): FieldValue;
  /**
   * Statements that read the field at `pos` into `site.into` (bounds already checked, `pos`
   * not moved), throwing FAULT at any fault. Only integers may be pasted into them.
   */
  snippet(f: CompiledField, site: SnippetSite): string[];
  /** The functions and tables the snippets call, by the names they use them under. */
  readonly helpers: Readonly<Record<string, unknown>>;
}

/** An interpreter that writes and reads digit or character strings (what a signed amount's digits use). */
export interface TextInterpreter extends Interpreter {
  /** Writes text[from, from + count) at out[pos] (room made), checking each character; returns the offset after. */
  writeText(text: string, from: number, count: number, f: CompiledField, out: Buffer, pos: number): number;
  /** Reads `count` units at buf[pos] as text, checked. */
  readText(buf: Buffer, pos: number, count: number, f: CompiledField, source: TextSource): string;
}
