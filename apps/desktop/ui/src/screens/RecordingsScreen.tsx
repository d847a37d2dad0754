import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Dialog, Form, Heading, Input, Label, Modal, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, ErrorNotice, Loading, Saved } from '../components/notices';
import { useAction, useCommand } from '../components/use-command';
import { invoke } from '../ipc/client';

type Summary = DesktopCommandOutput<'recordings.list'>['items'][number];
type Step = DesktopCommandOutput<'recordings.get'>['recording']['steps'][number];

/** One step in words, as the CLI's `recordings show` prints it. */
function describeStep(step: Step): string {
  switch (step.kind) {
    case 'click':
      return `Click ${step.text ? `“${step.text}”` : step.selector}`;
    case 'input':
      return step.masked
        ? `Type in ${step.selector} (hidden: a sensitive field)`
        : `Type “${step.value}” in ${step.selector}`;
    case 'submit':
      return `Submit the form ${step.selector}`;
    case 'navigation':
      return `Go to ${step.url}`;
    case 'tab-switch':
      return `Switch to the tab ${step.url}`;
  }
}

/**
 * Browser recordings and the extension that makes them: pair it with a
 * one-time code, see and revoke what is paired; list, read, rename, attach to
 * an agent, export and delete recordings. The gateway keeps all of it.
 */
export function RecordingsScreen() {
  const recordings = useCommand('recordings.list', {});
  const pairings = useCommand('extension.list', {});
  const agents = useCommand('agents.list', {});
  const action = useAction();
  const [code, setCode] = useState<DesktopCommandOutput<'extension.pairingCode'>>();
  const [open, setOpen] = useState<DesktopCommandOutput<'recordings.get'>['recording']>();
  const [renaming, setRenaming] = useState<Summary>();
  const [deleting, setDeleting] = useState<Summary>();
  const [saved, setSaved] = useState<string>();

  /** The confirmation shows once the lists already show the change. */
  const done = async (message: string) => {
    setSaved(undefined);
    await Promise.all([recordings.reload(), pairings.reload()]);
    setSaved(message);
  };
  const agentName = (id: string) => agents.data?.agents.find((agent) => agent.id === id)?.name ?? id;

  return (
    <section aria-labelledby="recordings-title" className="screen">
      <Heading level={2} id="recordings-title">
        Recordings
      </Heading>
      {saved ? <Saved>{saved}</Saved> : null}
      {action.error ? <ErrorNotice>{action.error}</ErrorNotice> : null}

      <section aria-labelledby="extension-title" className="form">
        <Heading level={3} id="extension-title">
          Browser extension
        </Heading>
        <p className="hint">
          The MultiClaw extension records what you do in Chrome only while you record, and can do nothing else
          with this gateway.
        </p>
        <Button
          isDisabled={action.busy}
          onPress={() =>
            void action.run(async () => {
              setSaved(undefined);
              setCode(await invoke('extension.pairingCode', {}));
            })
          }
        >
          Get a pairing code
        </Button>
        {code ? (
          <p role="status" className="notice">
            Type <strong className="code">{code.code}</strong> into the extension's popup before{' '}
            {new Date(code.expiresAt).toLocaleTimeString()}. It works once.
          </p>
        ) : null}
        {pairings.error ? (
          <ErrorNotice onRetry={() => void pairings.reload()}>{pairings.error}</ErrorNotice>
        ) : null}
        {pairings.data && pairings.data.items.length === 0 ? <p>No extension is paired.</p> : null}
        {pairings.data && pairings.data.items.length > 0 ? (
          <ul className="cards" aria-label="Paired extensions">
            {pairings.data.items.map((pairing) => (
              <li key={pairing.id} className="card">
                <div>
                  <p className="card-title">{pairing.origin}</p>
                  <p className="card-detail">Paired {new Date(pairing.pairedAt).toLocaleString()}</p>
                </div>
                <div className="card-actions">
                  <Button
                    aria-label={`Unpair ${pairing.origin}`}
                    isDisabled={action.busy}
                    onPress={() =>
                      void action.run(async () => {
                        await invoke('extension.unpair', { id: pairing.id });
                        setCode(undefined);
                        await done('The extension is unpaired: its token no longer works.');
                      })
                    }
                  >
                    Unpair
                  </Button>
                </div>
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      {recordings.error ? (
        <ErrorNotice onRetry={() => void recordings.reload()}>{recordings.error}</ErrorNotice>
      ) : null}
      {recordings.loading && !recordings.data ? <Loading>Loading recordings…</Loading> : null}
      {recordings.data && recordings.data.items.length === 0 ? (
        <Empty title="No recordings yet.">
          <p>Pair the extension, press Start recording in its popup, do the task in Chrome, then Stop.</p>
        </Empty>
      ) : null}
      {recordings.data && recordings.data.items.length > 0 ? (
        <ul className="cards" aria-label="Recordings">
          {recordings.data.items.map((recording) => (
            <li key={recording.id} className="card card-wide">
              <div>
                <p className="card-title">{recording.name}</p>
                <p className="card-detail">
                  {recording.stepCount} {recording.stepCount === 1 ? 'step' : 'steps'}, started{' '}
                  {new Date(recording.startedAt).toLocaleString()}
                </p>
                {recording.agentIds.length > 0 ? (
                  <p className="card-detail">Skill of: {recording.agentIds.map(agentName).join(', ')}</p>
                ) : null}
              </div>
              <div className="card-actions">
                <Button
                  aria-label={`Show the steps of ${recording.name}`}
                  onPress={() =>
                    void action.run(async () =>
                      setOpen((await invoke('recordings.get', { id: recording.id })).recording),
                    )
                  }
                >
                  Steps
                </Button>
                <Button aria-label={`Rename ${recording.name}`} onPress={() => setRenaming(recording)}>
                  Rename
                </Button>
                <Button
                  aria-label={`Export ${recording.name}`}
                  onPress={() =>
                    void action.run(async () => {
                      const { path } = await invoke('recordings.export', { id: recording.id });
                      setSaved(`Saved as ${path}.`);
                    })
                  }
                >
                  Export
                </Button>
                <Button aria-label={`Delete ${recording.name}`} onPress={() => setDeleting(recording)}>
                  Delete
                </Button>
              </div>
              <AttachForm
                recording={recording}
                agents={agents.data?.agents ?? []}
                busy={action.busy}
                onAttach={(agentId) =>
                  void action.run(async () => {
                    await invoke('recordings.attach', { id: recording.id, agentId });
                    await done(`“${recording.name}” is now a skill of ${agentName(agentId)}.`);
                  })
                }
                onDetach={(agentId) =>
                  void action.run(async () => {
                    await invoke('recordings.detach', { id: recording.id, agentId });
                    await done(`“${recording.name}” is no longer a skill of ${agentName(agentId)}.`);
                  })
                }
              />
            </li>
          ))}
        </ul>
      ) : null}

      {open ? (
        <section aria-labelledby="steps-title" className="form">
          <Heading level={3} id="steps-title">
            Steps of {open.name}
          </Heading>
          <ol className="steps" aria-label={`Steps of ${open.name}`}>
            {open.steps.map((step) => (
              <li key={step.seq}>{describeStep(step)}</li>
            ))}
          </ol>
          <Button onPress={() => setOpen(undefined)}>Close the steps</Button>
        </section>
      ) : null}

      <Modal
        isDismissable
        isOpen={renaming !== undefined}
        onOpenChange={(isOpen) => !isOpen && setRenaming(undefined)}
      >
        <Dialog className="dialog">
          {({ close }) => (
            <RenameForm
              recording={renaming}
              onCancel={close}
              onRename={(name) =>
                void action.run(async () => {
                  if (!renaming) return;
                  await invoke('recordings.rename', { id: renaming.id, name });
                  setRenaming(undefined);
                  await done(`Renamed to “${name}”.`);
                })
              }
            />
          )}
        </Dialog>
      </Modal>

      <ConfirmDialog
        isOpen={deleting !== undefined}
        onDismiss={() => setDeleting(undefined)}
        title={`Delete ${deleting?.name}?`}
        confirmLabel="Delete recording"
        onConfirm={() =>
          void action.run(async () => {
            if (!deleting) return;
            await invoke('recordings.delete', { id: deleting.id });
            setDeleting(undefined);
            if (open?.id === deleting.id) setOpen(undefined);
            await done(`“${deleting.name}” deleted.`);
          })
        }
      >
        <p>Its steps are gone for good, and agents lose it as a skill.</p>
      </ConfirmDialog>
    </section>
  );
}

function RenameForm(props: {
  recording: Summary | undefined;
  onRename: (name: string) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(props.recording?.name ?? '');
  return (
    <Form
      aria-label={`Rename ${props.recording?.name ?? 'recording'}`}
      onSubmit={(event) => {
        event.preventDefault();
        props.onRename(name.trim());
      }}
    >
      <Heading slot="title">Rename {props.recording?.name}</Heading>
      <TextField isRequired value={name} onChange={setName} maxLength={200} autoFocus>
        <Label>New name</Label>
        <Input />
      </TextField>
      <div className="form-actions">
        <Button onPress={props.onCancel}>Cancel</Button>
        <Button type="submit">Save the name</Button>
      </div>
    </Form>
  );
}

function AttachForm(props: {
  recording: Summary;
  agents: { id: string; name: string }[];
  busy: boolean;
  onAttach: (agentId: string) => void;
  onDetach: (agentId: string) => void;
}) {
  const available = props.agents.filter((agent) => !props.recording.agentIds.includes(agent.id));
  const [agentId, setAgentId] = useState<string>();
  if (props.agents.length === 0) return null;
  return (
    <div className="form-inline">
      {available.length > 0 ? (
        <>
          <ChoiceSelect
            label={`Skill for an agent (${props.recording.name})`}
            choices={available.map((agent) => ({ id: agent.id, label: agent.name }))}
            value={agentId}
            onChange={setAgentId}
          />
          <Button isDisabled={props.busy || !agentId} onPress={() => agentId && props.onAttach(agentId)}>
            Attach
          </Button>
        </>
      ) : null}
      {props.recording.agentIds.map((id) => {
        const name = props.agents.find((agent) => agent.id === id)?.name ?? id;
        return (
          <Button
            key={id}
            isDisabled={props.busy}
            aria-label={`Detach from ${name}: ${props.recording.name}`}
            onPress={() => props.onDetach(id)}
          >
            Detach from {name}
          </Button>
        );
      })}
    </div>
  );
}
