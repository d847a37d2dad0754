import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { Button, Form, Heading, Label, TextArea, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { type Line, linesOfHistory, type RunState, useChatRuns } from '../components/chat-runs';
import { Markdown } from '../components/Markdown';
import { Empty, ErrorNotice, Loading } from '../components/notices';
import { useCommand } from '../components/use-command';
import { invoke, messageOf } from '../ipc/client';

export interface OpenConversation {
  sessionKey: string;
  agentId: string;
}

const ENDED_WORDS: Record<Exclude<RunState, 'streaming' | 'complete'>, string> = {
  aborted: 'Stopped.',
  interrupted: 'Cut off: the gateway stopped while replying.',
  error: 'The reply failed.',
};

/** A conversation with one local agent: replies stream in; Stop, Retry; Enter sends, Shift+Enter starts a new line. */
export function ChatScreen({
  open,
  gatewayRunning,
  visible,
}: {
  open?: OpenConversation;
  gatewayRunning: boolean;
  visible: boolean;
}) {
  const agents = useCommand('agents.list', {});
  const reloadAgents = agents.reload;
  // Agents may have changed on another screen.
  useEffect(() => {
    if (visible) void reloadAgents();
  }, [visible, reloadAgents]);
  const [agentId, setAgentId] = useState<string | undefined>(open?.agentId);
  const [sessionKey, setSessionKey] = useState<string | undefined>(open?.sessionKey);
  const [lines, setLines] = useState<Line[]>([]);
  const runs = useChatRuns();
  const [current, setCurrent] = useState<string>();
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string>();
  const [loadingHistory, setLoadingHistory] = useState(Boolean(open));
  const [sending, setSending] = useState(false);
  const counter = useRef(0);
  const nextKey = () => `line-${++counter.current}`;

  // Default to the first agent once the list is in.
  useEffect(() => {
    if (!agentId && agents.data?.agents[0]) setAgentId(agents.data.agents[0].id);
  }, [agentId, agents.data]);

  // An opened conversation: its newest page of messages, oldest first.
  useEffect(() => {
    if (!open) return;
    let live = true;
    invoke('chat.history', { sessionKey: open.sessionKey, limit: 100 })
      .then((page) => {
        if (!live) return;
        setLines(linesOfHistory(page.messages));
      })
      .catch((failure) => live && setError(messageOf(failure)))
      .finally(() => live && setLoadingHistory(false));
    return () => {
      live = false;
    };
  }, [open]);

  const currentRun = current ? runs[current] : undefined;
  const streaming = sending || currentRun?.state === 'streaming' || (current !== undefined && !currentRun);
  const lastUser = [...lines].reverse().find((line) => line.kind === 'user');
  const lastAssistant = lines.at(-1)?.kind === 'assistant' ? lines.at(-1) : undefined;
  const lastState =
    lastAssistant?.kind === 'assistant'
      ? lastAssistant.runId
        ? runs[lastAssistant.runId]?.state
        : lastAssistant.state
      : undefined;
  // After a reply that did not complete, or a message the host could not start a reply to.
  const unanswered = lines.at(-1)?.kind === 'user' && error !== undefined;
  const canRetry =
    !streaming &&
    lastUser !== undefined &&
    (unanswered || (lastState !== undefined && lastState !== 'complete'));

  async function send(message: string) {
    if (!agentId || !message.trim() || streaming) return;
    setError(undefined);
    setSending(true);
    const assistantKey = nextKey();
    setLines((all) => [...all, { kind: 'user', key: nextKey(), text: message }]);
    try {
      const started = await invoke('chat.send', {
        agentId,
        message,
        ...(sessionKey ? { sessionKey } : {}),
        idempotencyKey: crypto.randomUUID(),
      });
      setSessionKey(started.sessionKey);
      setCurrent(started.runId);
      setLines((all) => [...all, { kind: 'assistant', key: assistantKey, runId: started.runId }]);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setSending(false);
    }
  }

  async function stop() {
    if (!sessionKey || !current) return;
    try {
      await invoke('chat.abort', { sessionKey, runId: current });
    } catch (failure) {
      setError(messageOf(failure));
    }
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      const message = draft;
      if (!message.trim() || streaming) return;
      setDraft('');
      void send(message);
    }
  }

  function newConversation() {
    setSessionKey(undefined);
    setLines([]);
    setCurrent(undefined);
    setError(undefined);
  }

  if (agents.error) return <ErrorNotice onRetry={() => void agents.reload()}>{agents.error}</ErrorNotice>;
  if (!agents.data) return <Loading>Loading agents…</Loading>;
  const agentList = agents.data.agents;
  const agentName = agentList.find((agent) => agent.id === agentId)?.name ?? agentId;

  return (
    <section aria-labelledby="chat-title" className="screen chat">
      <div className="screen-head">
        <Heading level={2} id="chat-title">
          Chat
        </Heading>
        <ChoiceSelect
          label="Agent"
          className="inline-select"
          choices={agentList.map((agent) => ({ id: agent.id, label: agent.name }))}
          value={agentId}
          isDisabled={agentList.length === 0 || sessionKey !== undefined}
          onChange={setAgentId}
        />
        <Button isDisabled={streaming || lines.length === 0} onPress={newConversation}>
          New conversation
        </Button>
      </div>
      {gatewayRunning ? null : (
        <p className="notice notice-warn">
          The gateway is not running: start it on the Status screen to chat.
        </p>
      )}
      {agentList.length === 0 ? (
        <Empty title="No agents to chat with yet.">
          <p>Create one under Agents (after adding a provider under Providers).</p>
        </Empty>
      ) : null}
      <div role="log" aria-label={`Conversation with ${agentName ?? 'an agent'}`} className="messages">
        {loadingHistory ? <Loading>Loading the conversation…</Loading> : null}
        {!loadingHistory && lines.length === 0 && agentList.length > 0 ? (
          <p className="hint">Say something to {agentName}. Enter sends; Shift+Enter starts a new line.</p>
        ) : null}
        {lines.map((line) => {
          if (line.kind === 'user')
            return (
              <article key={line.key} className="message message-user" aria-label="You said">
                <p className="message-text">{line.text}</p>
              </article>
            );
          const run = line.runId ? runs[line.runId] : undefined;
          const text = run?.text ?? line.text ?? '';
          const state = run?.state ?? line.state ?? 'streaming';
          const failure = run?.error ?? line.error;
          return (
            <article
              key={line.key}
              className="message message-agent"
              aria-label={`${agentName ?? 'Agent'} replied`}
              aria-busy={state === 'streaming'}
            >
              {text ? <Markdown text={text} /> : null}
              {state === 'streaming' && !text ? <p className="hint">Thinking…</p> : null}
              {state !== 'streaming' && state !== 'complete' ? (
                <p className="message-ended">
                  {ENDED_WORDS[state]}
                  {failure ? ` ${failure}` : ''}
                </p>
              ) : null}
            </article>
          );
        })}
      </div>
      {error ? <ErrorNotice>{error}</ErrorNotice> : null}
      <Form
        className="composer"
        aria-label="Send a message"
        onSubmit={(event) => {
          event.preventDefault();
          const message = draft;
          if (!message.trim()) return;
          setDraft('');
          void send(message);
        }}
      >
        <TextField
          value={draft}
          onChange={setDraft}
          isDisabled={agentList.length === 0}
          className="react-aria-TextField composer-field"
        >
          <Label>Message</Label>
          <TextArea rows={3} onKeyDown={onKeyDown} />
        </TextField>
        <div className="form-actions">
          {streaming ? (
            <Button onPress={() => void stop()} isDisabled={!current}>
              Stop
            </Button>
          ) : (
            <Button type="submit" isDisabled={!draft.trim() || !agentId}>
              Send
            </Button>
          )}
          {canRetry && lastUser?.kind === 'user' ? (
            <Button onPress={() => void send(lastUser.text)}>Retry</Button>
          ) : null}
        </div>
      </Form>
    </section>
  );
}
