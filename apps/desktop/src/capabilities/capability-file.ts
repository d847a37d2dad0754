import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeIssues } from '@multiclaw/gateway/client';
import { z } from 'zod';

/** A window's label, as capability files name it and the host mints its secret for (`main`). */
export const WindowLabel = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'a window label: lower-case letters, digits and "-"');

/** A command name (`chat.send`) or every command of a group (`providers.*`). */
const CommandPattern = z
  .string()
  .regex(
    /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*(\.\*)?$/,
    'a command name such as "chat.send", or "group.*"',
  );

/** One file of apps/desktop/capabilities (Tauri's capability files, reduced to what this host enforces). */
export const CapabilityFile = z.strictObject({
  $schema: z.string().optional(),
  identifier: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'lower-case letters, digits and "-"'),
  description: z.string().trim().min(1, 'say what this capability is for'),
  windows: z.array(WindowLabel).min(1, 'name at least one window'),
  commands: z.strictObject({
    allow: z.array(CommandPattern).default([]),
    deny: z.array(CommandPattern).default([]),
  }),
});
export type CapabilityFile = z.infer<typeof CapabilityFile>;

export interface LoadedCapability extends CapabilityFile {
  /** The file it came from, for messages and the printed table. */
  file: string;
}

/** A capability file the host refuses to start with: which file, and each problem in it. */
export class CapabilityError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file} is not a valid capability file:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'CapabilityError';
  }
}

/** Whether `pattern` names `command` (exactly, or as `group.*`). */
export function patternMatches(pattern: string, command: string): boolean {
  return pattern.endsWith('.*') ? command.startsWith(pattern.slice(0, -1)) : pattern === command;
}

/**
 * Reads and validates every `*.json` in `dir`, in name order. A file that is
 * not JSON, does not match the schema, repeats another's identifier, or
 * names a command the host does not have (a typo would silently allow or
 * deny nothing) is refused with a CapabilityError naming it.
 */
export async function loadCapabilityFiles(
  dir: string,
  commands: readonly string[],
): Promise<LoadedCapability[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw new CapabilityError(dir, [`cannot read the capabilities folder (${(error as Error).message})`]);
  }
  if (names.length === 0)
    throw new CapabilityError(dir, ['no capability files (*.json): no window could call anything']);
  const loaded: LoadedCapability[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const capability = parseCapabilityFile(file, await readFile(file, 'utf8'), commands);
    const twin = loaded.find((other) => other.identifier === capability.identifier);
    if (twin)
      throw new CapabilityError(file, [`identifier "${capability.identifier}" is used by ${twin.file} too`]);
    loaded.push(capability);
  }
  return loaded;
}

export function parseCapabilityFile(
  file: string,
  text: string,
  commands: readonly string[],
): LoadedCapability {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CapabilityError(file, ['not valid JSON']);
  }
  const result = CapabilityFile.safeParse(json);
  if (!result.success) throw new CapabilityError(file, describeIssues(result.error.issues));
  const problems = (['allow', 'deny'] as const).flatMap((list) =>
    result.data.commands[list].flatMap((pattern, index) =>
      commands.some((command) => patternMatches(pattern, command))
        ? []
        : [`commands.${list}.${index}: no command "${pattern}" exists in this host`],
    ),
  );
  if (problems.length > 0) throw new CapabilityError(file, problems);
  return { ...result.data, file };
}
