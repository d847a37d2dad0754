import { ExitCode } from '@multiclaw/runtime/exit-codes';

/** Exit codes of `multiclaw-gateway` (sysexits.h where one fits), listed in every --help. */
export const EXIT = {
  ...ExitCode,
  /** doctor found a problem. */
  PROBLEMS: 1,
  /** status: the gateway is not running (the LSB code for "program is not running"). */
  NOT_RUNNING: 3,
  /** status: a gateway answers on the port but refuses this CLI (the reason is printed). */
  REFUSED: 4,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   doctor found problems
  3   status: the gateway is not running
  4   status: a gateway is running but refuses this CLI (the reason is printed)
  64  usage error (unknown command or option)
  69  start: port in use, or another gateway owns the state directory
  70  internal error (a crash log is written to <state dir>/crash)
  78  invalid config, or loose permissions refused with --strict

Files:
  config  $OPENCLAW_CONFIG_PATH, default ~/.openclaw/openclaw.json (0600)
  state   $OPENCLAW_STATE_DIR, default ~/.openclaw (0700)`;
