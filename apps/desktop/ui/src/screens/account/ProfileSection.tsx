import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Heading } from 'react-aria-components';
import { ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCommand } from '../../components/use-command';
import { VerifyEmail } from './VerifyEmail';

type Account = DesktopCommandOutput<'account.status'>;

/** Who the cloud knows: email, name, whether the address is verified (and the way to verify it). */
export function ProfileSection({ onAccount }: { onAccount: (account: Account) => void }) {
  const profile = useCommand('account.profile', {});
  const [saved, setSaved] = useState<string>();
  const user = profile.data?.user;
  return (
    <section aria-labelledby="account-profile" className="form">
      <Heading level={3} id="account-profile">
        Profile
      </Heading>
      {profile.error ? (
        <ErrorNotice onRetry={() => void profile.reload()}>{profile.error}</ErrorNotice>
      ) : null}
      {profile.loading && !user ? <Loading>Loading your profile from the cloud…</Loading> : null}
      {user ? (
        <dl className="facts">
          <dt>Email</dt>
          <dd>{user.email}</dd>
          <dt>Name</dt>
          <dd>{user.name ?? 'Not given'}</dd>
          <dt>Email address</dt>
          <dd>{user.emailVerified ? 'Verified' : 'Not verified yet'}</dd>
        </dl>
      ) : null}
      {saved ? <Saved>{saved}</Saved> : null}
      {user && !user.emailVerified ? (
        <VerifyEmail
          email={user.email}
          onVerified={async (account) => {
            setSaved(undefined);
            await profile.reload();
            setSaved('Your email address is verified.');
            onAccount(account);
          }}
        />
      ) : null}
    </section>
  );
}
