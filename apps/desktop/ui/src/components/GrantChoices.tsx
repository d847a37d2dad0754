import type { ReactNode } from 'react';
import { Checkbox, CheckboxGroup, Label, Text } from 'react-aria-components';

/** One thing that can be granted (an agent, a secret), by its id and the name a person reads. */
export interface Grantable {
  id: string;
  name: string;
}

/**
 * A labelled group of checkboxes choosing which of `choices` are granted
 * (the secrets an agent may use, the agents a secret is granted to); with no
 * choices, `empty` says what to do instead. Ids no longer among `choices` are
 * kept, so saving does not silently drop a grant the list has not caught up with.
 */
export function GrantChoices(props: {
  label: string;
  choices: Grantable[];
  value: string[];
  onChange: (value: string[]) => void;
  empty: ReactNode;
  description?: string;
}) {
  if (props.choices.length === 0) return <p className="hint">{props.empty}</p>;
  const known = new Set(props.choices.map((choice) => choice.id));
  const unlisted = props.value.filter((id) => !known.has(id));
  return (
    <CheckboxGroup
      value={props.value.filter((id) => known.has(id))}
      onChange={(value) => props.onChange([...value, ...unlisted])}
      className="react-aria-CheckboxGroup checkbox-group"
    >
      <Label>{props.label}</Label>
      {props.choices.map((choice) => (
        <Checkbox key={choice.id} value={choice.id}>
          {choice.name}
        </Checkbox>
      ))}
      {props.description ? <Text slot="description">{props.description}</Text> : null}
    </CheckboxGroup>
  );
}
