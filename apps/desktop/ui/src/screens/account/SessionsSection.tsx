import { useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ErrorNotice, Loading, Saved } from '../../components/notices';
import { useAction, useCommand } from '../../components/use-command';
import { invoke } from '../../ipc/client';

const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * Where the account is signed in: this computer marked, each other session
 * with a way to end it, and "Sign out everywhere else".
 */
export function SessionsSection() {
  const sessions = useCommand('account.sessions.list', {});
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  const items = sessions.data?.items ?? [];
  const others = items.filter((session) => !session.current);

  /** The confirmation shows once the list already shows the change. */
  async function changed(message: string) {
    await sessions.reload();
    setSaved(message);
  }

  return (
    <section aria-labelledby="account-sessions" className="form">
      <Heading level={3} id="account-sessions">
        Sessions
      </Heading>
      <p className="hint">
        Where your account is signed in. Signing out a session there takes effect at once.
      </p>
      {sessions.error ? (
        <ErrorNotice onRetry={() => void sessions.reload()}>{sessions.error}</ErrorNotice>
      ) : null}
      {sessions.loading && !sessions.data ? <Loading>Loading your sessions…</Loading> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {saved ? <Saved>{saved}</Saved> : null}
      {items.length > 0 ? (
        <ul className="cards" aria-label="Sessions">
          {items.map((session) => {
            const name = session.clientName ?? 'Unnamed app';
            const label = session.current ? `${name} (this computer)` : name;
            return (
              <li key={session.id} className="card">
                <div>
                  <p className="card-title">{label}</p>
                  <p className="card-detail">
                    Signed in {when(session.createdAt)} · last used {when(session.lastUsedAt)}
                    {session.ip ? ` · from ${session.ip}` : ''}
                  </p>
                  {session.userAgent ? <p className="card-detail">{session.userAgent}</p> : null}
                </div>
                {session.current ? null : (
                  <div className="card-actions">
                    <Button
                      aria-label={`Sign out ${name}, signed in ${when(session.createdAt)}`}
                      isDisabled={action.busy}
                      onPress={() => {
                        setSaved(undefined);
                        void action.run(async () => {
                          await invoke('account.sessions.revoke', { sessionId: session.id });
                          await changed(`${name} is signed out.`);
                        });
                      }}
                    >
                      Sign out
                    </Button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      {sessions.data ? (
        <div className="form-actions">
          <Button
            isDisabled={action.busy || others.length === 0}
            onPress={() => {
              setSaved(undefined);
              void action.run(async () => {
                const { revoked } = await invoke('account.sessions.revokeOthers', {});
                await changed(
                  revoked === 1
                    ? 'Signed out of 1 other session. This computer stays signed in.'
                    : `Signed out of ${revoked} other sessions. This computer stays signed in.`,
                );
              });
            }}
          >
            Sign out everywhere else
          </Button>
        </div>
      ) : null}
    </section>
  );
}
