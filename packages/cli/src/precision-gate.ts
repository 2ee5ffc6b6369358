/** Thrown after the report was printed when --min-sqnr fails: exit 1 with nothing more to say. */
export class PrecisionGateError extends Error {}
