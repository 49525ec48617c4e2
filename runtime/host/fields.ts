/**
 * Where the host link puts what the shipped ISO 8583 layouts have no field for.
 * The DUKPT KSN of the PIN block (20 hex digits for TDES) travels in DE62, a private
 * LLL field, because DE53 (n16) is too short for it.
 */
export const KSN_FIELD = 62;
