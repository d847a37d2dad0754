import { Heading } from 'react-aria-components';

/** The cloud account: profile, password, sessions, export, deletion (being built). */
export function AccountScreen() {
  return (
    <section aria-labelledby="account-title" className="screen">
      <Heading level={2} id="account-title">
        Account
      </Heading>
      <p>Being built.</p>
    </section>
  );
}
