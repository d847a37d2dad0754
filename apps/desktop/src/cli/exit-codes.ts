export { ExitCode as EXIT } from '@multiclaw/runtime/exit-codes';

export const EXIT_CODES_HELP = `
Exit codes:
  0   success (start: stopped by Ctrl-C or SIGTERM)
  64  usage error (unknown command or option)
  69  the port is in use
  70  internal error (a crash log is written to <state dir>/crash)
  78  a capability file or the environment is invalid (the message names the file and the problem)

Environment:
  MULTICLAW_DESKTOP_PORT       the host's port on 127.0.0.1 (default 18790)
  MULTICLAW_DESKTOP_STATE_DIR  state directory (default ~/.multiclaw/desktop, 0700)
  MULTICLAW_BROWSER            the browser to open the window with (default: the first of
                               chromium, chromium-browser, google-chrome, brave-browser,
                               microsoft-edge on PATH, else xdg-open)
  OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH  where the gateway's openclaw.json is (as for the gateway)`;
