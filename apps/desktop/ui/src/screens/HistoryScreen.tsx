import type { DesktopSessionSummary } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { Button, Heading, Input, Label, SearchField } from 'react-aria-components';
import { Empty, ErrorNotice, Loading } from '../components/notices';
import { useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';
import type { OpenConversation } from './ChatScreen';

const PAGE = 20;

function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Where a conversation's messages go, as the host reports it (docs/data-residency.md's rule). */
function syncMarkOf(session: DesktopSessionSummary, workspaceName: (id: string) => string): string {
  return session.sync ? `Synced to ${workspaceName(session.sync.workspaceId)}` : 'Local only';
}

/** The names of the person's workspaces, when signed in (a mark says "your workspace" otherwise). */
function useWorkspaceNames(wanted: boolean): (id: string) => string {
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    invoke('workspaces.list', {})
      .then(
        (page) => live && setNames(new Map(page.items.map((workspace) => [workspace.id, workspace.name]))),
      )
      // Signed out, or the cloud away: the marks say "your workspace".
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [wanted]);
  return (id) => names.get(id) ?? 'your workspace';
}

/** Past conversations: search by words, page through, open one in Chat; each says whether it syncs to a workspace. */
export function HistoryScreen({ onOpen }: { onOpen: (conversation: OpenConversation) => void }) {
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  // Search as the person types, once they pause.
  useEffect(() => {
    // Only a changed search goes back to the first page (not the first render).
    if (typed.trim() === search) return;
    const timer = setTimeout(() => {
      setSearch(typed.trim());
      setOffset(0);
    }, 300);
    return () => clearTimeout(timer);
  }, [typed, search]);
  const sessions = useCommand('sessions.list', {
    limit: PAGE,
    offset,
    ...(search ? { search } : {}),
  });
  const agents = useCommand('agents.list', {});
  const nameOf = (id: string) => agents.data?.agents.find((agent) => agent.id === id)?.name ?? id;
  const workspaceName = useWorkspaceNames(sessions.data?.sessions.some((session) => session.sync) ?? false);
  const markOf = (session: DesktopSessionSummary) => syncMarkOf(session, workspaceName);
  const page = sessions.data;
  return (
    <section aria-labelledby="history-title" className="screen">
      <Heading level={2} id="history-title">
        History
      </Heading>
      <SearchField value={typed} onChange={setTyped} className="react-aria-SearchField search">
        <Label>Search conversations</Label>
        <Input placeholder="Words from a title or message" />
      </SearchField>
      {sessions.error ? (
        <ErrorNotice onRetry={() => void sessions.reload()}>{sessions.error}</ErrorNotice>
      ) : null}
      {sessions.loading ? <Loading>Loading conversations…</Loading> : null}
      {page && page.sessions.length === 0 ? (
        <Empty title={search ? `No conversation matches "${search}".` : 'No conversations yet.'}>
          <p>{search ? 'Try other words.' : 'Conversations you have in Chat show up here.'}</p>
        </Empty>
      ) : null}
      {page && page.sessions.length > 0 ? (
        <>
          <p className="hint" aria-live="polite">
            {page.total === 1
              ? '1 conversation'
              : `Conversations ${offset + 1}–${offset + page.sessions.length} of ${page.total}`}
          </p>
          <ul className="cards" aria-label="Conversations">
            {page.sessions.map((session: DesktopSessionSummary) => {
              const mark = markOf(session);
              return (
                <li key={session.key} className="card">
                  <div>
                    <p className="card-title">{session.title || 'Untitled conversation'}</p>
                    <p className="card-detail">
                      With {nameOf(session.agentId)} · {session.messageCount} messages ·{' '}
                      {when(session.updatedAt)}
                      {session.damaged ? ' · partly damaged' : ''}
                      {mark ? ` · ${mark}` : ''}
                    </p>
                  </div>
                  <Button
                    aria-label={`Open ${session.title || 'conversation'}`}
                    onPress={() => onOpen({ sessionKey: session.key, agentId: session.agentId })}
                  >
                    Open
                  </Button>
                </li>
              );
            })}
          </ul>
          {page.total > PAGE ? (
            <nav aria-label="Pages" className="form-actions pages">
              <Button isDisabled={offset === 0} onPress={() => setOffset(Math.max(0, offset - PAGE))}>
                Newer conversations
              </Button>
              <Button
                isDisabled={page.nextOffset === undefined}
                onPress={() => setOffset(page.nextOffset ?? 0)}
              >
                Older conversations
              </Button>
            </nav>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
