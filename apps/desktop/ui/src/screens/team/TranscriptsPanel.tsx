import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Button, Heading } from 'react-aria-components';
import { ChoiceSelect } from '../../components/ChoiceSelect';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useCloudEvents } from '../../components/use-cloud-events';
import { useAction, useCommand } from '../../components/use-command';
import { invoke, messageOf } from '../../ipc/client';
import type { PanelProps } from './panel';
import { usePagedList, usePeople, when } from './team-lists';

type Conversation = DesktopCommandOutput<'transcripts.list'>['items'][number];
type Message = DesktopCommandOutput<'transcripts.read'>['items'][number];

const EVERYONE = 'everyone';
const MESSAGES_PAGE = 100;

const titleOf = (conversation: Conversation) => conversation.title || 'Untitled conversation';

/**
 * Conversations synced to the workspace: a member sees their own, an owner
 * everyone's and may pick one person's. New messages arrive live (the cloud's
 * `conversation.appended`), in the list and in the conversation open.
 * Deleting removes the workspace's copy only.
 */
export function TranscriptsPanel({ workspace, userId }: PanelProps) {
  const owner = workspace.role === 'owner';
  const people = usePeople(workspace, userId);
  const [person, setPerson] = useState(EVERYONE);
  const conversations = usePagedList('transcripts.list', {
    workspaceId: workspace.id,
    limit: 20,
    ...(person === EVERYONE ? {} : { userId: person }),
  });
  const agents = useCommand('workspaceAgents.list', { workspaceId: workspace.id, limit: 100 });
  const [open, setOpen] = useState<Conversation>();
  const [deleting, setDeleting] = useState<Conversation>();
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  useCloudEvents(workspace.id, ['conversation.appended'], () => void conversations.refresh());

  const agentOf = (conversation: Conversation) => {
    if (conversation.agentSource === 'local') return `a local agent (${conversation.agentId})`;
    return agents.data?.items.find((agent) => agent.id === conversation.agentId)?.name ?? 'a workspace agent';
  };
  const remove = (target: Conversation) =>
    void action.run(async () => {
      setDeleting(undefined);
      setSaved(undefined);
      await invoke('transcripts.delete', { workspaceId: workspace.id, conversationId: target.id });
      if (open?.id === target.id) setOpen(undefined);
      await conversations.reload();
      setSaved(
        `"${titleOf(target)}" is deleted from ${workspace.name}. The copy on the computer that synced it stays.`,
      );
    });

  return (
    <section aria-label={`Transcripts of ${workspace.name}`}>
      <Heading level={4}>Transcripts</Heading>
      <p className="hint">
        {owner
          ? 'Conversations synced to this workspace by everyone in it.'
          : 'Your conversations synced to this workspace. Only you and its owners can read them.'}
      </p>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}
      {open ? (
        <ConversationView
          key={open.id}
          workspaceId={workspace.id}
          conversation={open}
          heading={`${titleOf(open)}, with ${agentOf(open)}${owner ? `, by ${people.nameOf(open.userId)}` : ''}`}
          onBack={() => setOpen(undefined)}
          onDelete={() => setDeleting(open)}
        />
      ) : (
        <>
          {owner ? (
            <ChoiceSelect
              className="inline-select"
              label="Person"
              choices={[
                { id: EVERYONE, label: 'Everyone' },
                ...people.members.map((member) => ({
                  id: member.userId,
                  label: member.userId === userId ? 'You' : member.name || member.email,
                })),
              ]}
              value={person}
              onChange={setPerson}
            />
          ) : null}
          {conversations.error ? (
            <ErrorNotice onRetry={() => void conversations.reload()}>{conversations.error}</ErrorNotice>
          ) : null}
          {conversations.loading && !conversations.items ? (
            <Loading>Loading the conversations…</Loading>
          ) : null}
          {conversations.items && conversations.items.length === 0 ? (
            <Empty title="No synced conversation yet.">
              <p>
                Conversations with this workspace's agents sync here from linked gateways; other conversations
                stay on their computer.
              </p>
            </Empty>
          ) : null}
          {conversations.items && conversations.items.length > 0 ? (
            <ul className="cards" aria-label="Synced conversations">
              {conversations.items.map((conversation) => (
                <li key={conversation.id} className="card" aria-label={titleOf(conversation)}>
                  <div>
                    <p className="card-title">{titleOf(conversation)}</p>
                    <p className="card-detail">
                      With {agentOf(conversation)}
                      {owner ? ` · by ${people.nameOf(conversation.userId)}` : ''} ·{' '}
                      {conversation.messageCount === 1
                        ? '1 message'
                        : `${conversation.messageCount} messages`}{' '}
                      · last {conversation.lastMessageAt ? when(conversation.lastMessageAt) : 'never'}
                    </p>
                  </div>
                  <div className="card-actions">
                    <Button
                      aria-label={`Read ${titleOf(conversation)}`}
                      onPress={() => setOpen(conversation)}
                    >
                      Read
                    </Button>
                    <Button
                      aria-label={`Delete ${titleOf(conversation)}`}
                      isDisabled={action.busy}
                      onPress={() => setDeleting(conversation)}
                    >
                      Delete
                    </Button>
                  </div>
                </li>
              ))}
            </ul>
          ) : null}
          {conversations.hasMore ? (
            <Button isDisabled={conversations.loading} onPress={() => void conversations.loadMore()}>
              Load more conversations
            </Button>
          ) : null}
        </>
      )}
      <ConfirmDialog
        isOpen={deleting !== undefined}
        onDismiss={() => setDeleting(undefined)}
        title={`Delete "${deleting ? titleOf(deleting) : ''}" from ${workspace.name}?`}
        confirmLabel="Delete conversation"
        onConfirm={() => deleting && remove(deleting)}
      >
        <p>
          The workspace's copy is deleted for everyone and does not sync back. The local copy on the computer
          that synced it stays there.
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** One synced conversation, read page by page (`after` the last sequence shown); new messages are fetched as they sync. */
function ConversationView(props: {
  workspaceId: string;
  conversation: Conversation;
  heading: string;
  onBack: () => void;
  onDelete: () => void;
}) {
  const { workspaceId, conversation } = props;
  const [messages, setMessages] = useState<Message[]>();
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string>();
  const reading = useRef<Promise<void>>(Promise.resolve());
  const lastSeq = useRef(0);

  // One read at a time, each after the last sequence shown, so pages and live arrivals never overlap.
  const readOn = useCallback(() => {
    reading.current = reading.current.then(async () => {
      try {
        const after = lastSeq.current;
        const page = await invoke('transcripts.read', {
          workspaceId,
          conversationId: conversation.id,
          limit: MESSAGES_PAGE,
          ...(after ? { after } : {}),
        });
        const fresh = page.items.filter((message) => message.seq > after);
        lastSeq.current = fresh.at(-1)?.seq ?? after;
        setMessages((shown) => [...(shown ?? []), ...fresh]);
        setMore(page.nextCursor !== null);
        setError(undefined);
      } catch (failure) {
        setError(messageOf(failure));
      }
    });
    return reading.current;
  }, [workspaceId, conversation.id]);

  useEffect(() => {
    void readOn();
  }, [readOn]);
  useCloudEvents(workspaceId, ['conversation.appended'], (event) => {
    if (event.conversationId === conversation.id) void readOn();
  });

  return (
    <section aria-label={`Conversation: ${props.heading}`} className="card card-wide">
      <Heading level={5} className="card-title">
        {props.heading}
      </Heading>
      <div className="form-actions">
        <Button onPress={props.onBack}>Back to the conversations</Button>
        <Button onPress={props.onDelete}>Delete conversation</Button>
      </div>
      {error ? <ErrorNotice onRetry={() => void readOn()}>{error}</ErrorNotice> : null}
      {!messages && !error ? <Loading>Loading the messages…</Loading> : null}
      {messages ? (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region is reached by keyboard to scroll it.
        <div role="log" aria-label="Messages" className="messages" tabIndex={0}>
          {messages.length === 0 ? <p className="hint">No message is readable yet.</p> : null}
          {messages.map((message) => (
            <article
              key={message.id}
              className={`message ${message.role === 'user' ? 'message-user' : 'message-agent'}`}
              aria-label={`${ROLE_WORDS[message.role]}, ${when(message.createdAt)}`}
            >
              <p className="message-text">{message.content}</p>
              {message.status && message.status !== 'complete' ? (
                <p className="message-ended">This reply ended early ({message.status}).</p>
              ) : null}
            </article>
          ))}
        </div>
      ) : null}
      {more ? <Button onPress={() => void readOn()}>Load more messages</Button> : null}
    </section>
  );
}

const ROLE_WORDS: Record<Message['role'], string> = {
  user: 'The person',
  assistant: 'The agent',
  system: 'System',
  tool: 'A tool',
};
