/** The small numeric codes compiled field specs carry (compile.ts), so the codec compares integers, not strings. */

// Content kinds.
export const N = 0;
export const Z = 1;
export const XN = 2;
export const AN = 3;
export const ANS = 4;
export const B = 5;

// Data and prefix encodings.
export const BCD = 0;
export const ASCII = 1;
export const EBCDIC = 2;
export const BINARY = 3;
export const HEX = 4;
