import { Input, Label, TextField } from 'react-aria-components';

/** The account's address, as every account form asks for it (the browser's password manager knows it as the user name). */
export function EmailField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return (
    <TextField isRequired value={value} onChange={onChange} type="email" autoComplete="username">
      <Label>Email</Label>
      <Input />
    </TextField>
  );
}

/** A password field: `current-password` to prove who one is, `new-password` to choose one. */
export function PasswordField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  autoComplete: 'current-password' | 'new-password';
  isRequired?: boolean;
  isInvalid?: boolean;
}) {
  return (
    <TextField
      isRequired={props.isRequired ?? true}
      isInvalid={props.isInvalid ?? false}
      value={props.value}
      onChange={props.onChange}
      type="password"
      autoComplete={props.autoComplete}
    >
      <Label>{props.label}</Label>
      <Input />
    </TextField>
  );
}
