import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue } from 'react-aria-components';

export interface Choice {
  id: string;
  label: string;
}

/** A labelled pick-one list (React Aria's Select): a button that opens a listbox, walked with the arrow keys. */
export function ChoiceSelect(props: {
  label: string;
  choices: Choice[];
  value: string | undefined;
  onChange: (id: string) => void;
  isRequired?: boolean;
  isDisabled?: boolean;
  className?: string;
}) {
  return (
    <Select
      {...(props.className ? { className: `react-aria-Select ${props.className}` } : {})}
      isRequired={props.isRequired ?? false}
      isDisabled={props.isDisabled ?? false}
      selectedKey={props.value || null}
      onSelectionChange={(key) => {
        if (key !== null) props.onChange(String(key));
      }}
    >
      <Label>{props.label}</Label>
      <Button>
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </Button>
      <Popover>
        <ListBox items={props.choices}>
          {(choice) => <ListBoxItem id={choice.id}>{choice.label}</ListBoxItem>}
        </ListBox>
      </Popover>
    </Select>
  );
}
