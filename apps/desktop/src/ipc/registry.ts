import { DESKTOP_COMMANDS, type DesktopCommand, DesktopCommands } from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';

/** What a handler knows about the call besides its input. */
export interface CommandContext {
  /** The window that called (its secret decided it). */
  window: string;
  requestId: string;
  log: FastifyBaseLogger;
}

type Input<C extends DesktopCommand> = z.output<(typeof DesktopCommands)[C]['input']>;
type Output<C extends DesktopCommand> = z.input<(typeof DesktopCommands)[C]['output']>;

/** One handler per command of the catalog: the type makes a missing one a compile error. */
export type CommandHandlers = {
  [C in DesktopCommand]: (input: Input<C>, context: CommandContext) => Promise<Output<C>>;
};

export interface RegisteredCommand {
  name: DesktopCommand;
  input: z.ZodType;
  output: z.ZodType;
  handler: (input: unknown, context: CommandContext) => Promise<unknown>;
}

/**
 * The registry: each command declared once — its name, its input and output
 * schemas (from the catalog in @multiclaw/protocol) and its handler.
 */
export function createRegistry(handlers: CommandHandlers): ReadonlyMap<string, RegisteredCommand> {
  const registry = new Map<string, RegisteredCommand>();
  for (const name of DESKTOP_COMMANDS) {
    const { input, output } = DesktopCommands[name];
    const handler = handlers[name] as RegisteredCommand['handler'];
    registry.set(name, { name, input, output, handler });
  }
  return registry;
}
