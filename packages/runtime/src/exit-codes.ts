/**
 * Exit codes every MultiClaw command shares, from sysexits.h, so a script
 * can branch on them the same way for the cloud's server and tools and the
 * gateway's CLI. A command adds its own low codes (1–4) for its own outcomes.
 */
export const ExitCode = {
  OK: 0,
  /** Bad usage: an unknown command or option, a missing argument. */
  USAGE: 64,
  /** The input data was refused (e.g. a migration's files do not match its history). */
  DATAERR: 65,
  /** A dependency (database, port, state directory) was unavailable. */
  UNAVAILABLE: 69,
  /** Unexpected failure, or shutdown did not finish within its timeout. */
  SOFTWARE: 70,
  /** The configuration was refused; the message names each problem. */
  CONFIG: 78,
} as const;
