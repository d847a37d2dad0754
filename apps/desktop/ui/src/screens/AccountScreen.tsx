import { Heading } from 'react-aria-components';
import { ErrorNotice, Loading } from '../components/notices';
import { useCloudAccount } from '../components/use-cloud-account';
import { DeleteAccountSection } from './account/DeleteAccountSection';
import { ExportSection } from './account/ExportSection';
import { PasswordSection } from './account/PasswordSection';
import { ProfileSection } from './account/ProfileSection';
import { SessionsSection } from './account/SessionsSection';

/**
 * The cloud account of the person signed in on this computer: profile and
 * email verification, password, sessions, export, deletion. The desktop host
 * holds the session and calls the cloud; this window never sees a token.
 */
export function AccountScreen() {
  const { account, setAccount, notice, setNotice, action } = useCloudAccount();

  const signedIn = account?.state === 'signed-in' && account.user ? account : undefined;
  return (
    <section aria-labelledby="account-title" className="screen">
      <Heading level={2} id="account-title">
        Account
      </Heading>
      {notice ? (
        <p role="alert" className="notice notice-warn">
          {notice}
        </p>
      ) : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {!account ? <Loading>Asking the desktop host about your cloud account…</Loading> : null}
      {account && !signedIn ? (
        <div className="notice notice-empty">
          <p className="notice-title">You are not signed in to a MultiClaw Cloud.</p>
          <p>
            Open the Team screen to choose your cloud and sign in, with single sign-on, or create an account.
            Your profile, password, sessions and data are then here.
          </p>
        </div>
      ) : null}
      {signedIn?.user ? (
        // A new person signed in gets fresh sections, never the last one's.
        <div key={signedIn.user.id} className="form">
          <p>
            Signed in as {signedIn.user.email} at {signedIn.cloudUrl}.
          </p>
          <ProfileSection onAccount={setAccount} />
          <PasswordSection />
          <SessionsSection />
          <ExportSection />
          <DeleteAccountSection
            onDeleted={(status) => {
              setAccount(status);
              setNotice('Your account was deleted from the cloud, and this computer is signed out.');
            }}
          />
        </div>
      ) : null}
    </section>
  );
}
