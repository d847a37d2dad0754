import type { RecordedStep, Recording } from '@multiclaw/protocol';

/**
 * How a recording attached to an agent is shown to its model: appended to the
 * agent's system prompt, one block per recording, one numbered line per step.
 * The format is documented in docs/extension.md ("Recordings as skills");
 * masked fields say so and never carry a value (none was ever recorded).
 */
export function renderSkills(recordings: readonly Recording[]): string | undefined {
  if (recordings.length === 0) return undefined;
  return [
    'The person showed you how they do these tasks in their browser. Each skill lists their steps in order.',
    ...recordings.map(renderSkill),
  ].join('\n\n');
}

export function renderSkill(recording: Recording): string {
  const lines = recording.steps.map((step, index) => `${index + 1}. ${renderStep(step)}`);
  return [`## Skill: ${oneLine(recording.name)}`, ...(lines.length ? lines : ['(no steps)'])].join('\n');
}

export function renderStep(step: RecordedStep): string {
  switch (step.kind) {
    case 'navigation':
      return `Go to ${step.url}${step.title ? ` ("${oneLine(step.title)}")` : ''}`;
    case 'tab-switch':
      return `Switch to the tab at ${step.url}${step.title ? ` ("${oneLine(step.title)}")` : ''}`;
    case 'click':
      return `Click the ${step.role || 'element'} ${describe(step.text)}at \`${step.selector}\``;
    case 'submit':
      return `Submit the form ${describe(step.text)}at \`${step.selector}\``;
    case 'input':
      return step.masked
        ? `Fill the ${step.role || 'field'} ${describe(step.text)}at \`${step.selector}\` with the person's own value (masked: ask them, never guess)`
        : `Type ${JSON.stringify(step.value)} into the ${step.role || 'field'} ${describe(step.text)}at \`${step.selector}\``;
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const describe = (text: string) => (text ? `"${oneLine(text)}" ` : '');
