import { type LoadedCapability, patternMatches } from './capability-file.js';

export type Decision =
  | { allowed: true; by: string[] }
  | { allowed: false; reason: 'denied'; by: string[] }
  | { allowed: false; reason: 'not allowed' | 'unknown command' | 'unknown window' };

/**
 * What each window may call, from the capability files: the union of the
 * capabilities naming the window, where a deny in any of them wins over
 * every allow, and nothing is allowed unless a capability allows it. A
 * command the host does not have is never allowed.
 */
export class CapabilityPolicy {
  private constructor(
    private readonly capabilities: readonly LoadedCapability[],
    private readonly commands: readonly string[],
  ) {}

  static from(capabilities: readonly LoadedCapability[], commands: readonly string[]): CapabilityPolicy {
    return new CapabilityPolicy(capabilities, commands);
  }

  /** Every window some capability names: the host mints one secret for each. */
  windows(): string[] {
    return [...new Set(this.capabilities.flatMap((capability) => capability.windows))].sort();
  }

  decide(window: string, command: string): Decision {
    const mine = this.capabilities.filter((capability) => capability.windows.includes(window));
    if (mine.length === 0) return { allowed: false, reason: 'unknown window' };
    if (!this.commands.includes(command)) return { allowed: false, reason: 'unknown command' };
    const naming = (list: 'allow' | 'deny') =>
      mine
        .filter((capability) => capability.commands[list].some((pattern) => patternMatches(pattern, command)))
        .map((capability) => capability.identifier);
    const deniedBy = naming('deny');
    if (deniedBy.length > 0) return { allowed: false, reason: 'denied', by: deniedBy };
    const allowedBy = naming('allow');
    return allowedBy.length > 0
      ? { allowed: true, by: allowedBy }
      : { allowed: false, reason: 'not allowed' };
  }

  /** The effective table, one line per window and command, for `start --print-capabilities`. */
  table(): string {
    const rows = this.windows().flatMap((window) =>
      this.commands.map((command) => {
        const decision = this.decide(window, command);
        const why = decision.allowed
          ? `allowed by ${decision.by.join(', ')}`
          : decision.reason === 'denied'
            ? `denied by ${decision.by.join(', ')} (deny wins)`
            : 'not allowed (nothing allows it)';
        return [window, command, decision.allowed ? 'allow' : 'deny', why];
      }),
    );
    const header = ['WINDOW', 'COMMAND', 'EFFECT', 'WHY'];
    const widths = header.map((_, column) =>
      Math.max(...[header, ...rows].map((row) => row[column]?.length ?? 0)),
    );
    const line = (row: string[]) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ');
    const sources = this.capabilities.map((capability) => `  ${capability.identifier}: ${capability.file}`);
    return [line(header), ...rows.map(line), '', 'capability files:', ...sources, ''].join('\n');
  }
}
