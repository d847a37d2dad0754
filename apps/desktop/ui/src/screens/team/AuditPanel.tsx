import type { DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useState } from 'react';
import { Button, Heading, Input, Label, TextField } from 'react-aria-components';
import { ChoiceSelect } from '../../components/ChoiceSelect';
import { Empty, ErrorNotice, Loading, Saved } from '../../components/notices';
import { useAction } from '../../components/use-command';
import { invoke } from '../../ipc/client';
import type { PanelProps } from './panel';
import { usePagedList, usePeople, when } from './team-lists';

type Entry = DesktopCommandOutput<'audit.list'>['items'][number];

const ANY = 'any';
/** Event types to filter by: a family (a prefix ending in ".") or one exact event. */
const EVENT_TYPES = [
  { id: ANY, label: 'Any event' },
  { id: 'workspace.', label: 'Workspace: created, renamed, deleted' },
  { id: 'workspace.renamed', label: 'Workspace renamed' },
  { id: 'member.', label: 'Members' },
  { id: 'invitation.', label: 'Invitations' },
  { id: 'ownership.', label: 'Ownership transfers' },
  { id: 'agent.', label: 'Workspace agents' },
  { id: 'secret.', label: 'Vault secrets' },
  { id: 'secret.revealed', label: 'Secret revealed' },
  { id: 'gateway.', label: 'Gateways' },
  { id: 'gateway.revoked', label: 'Gateway revoked' },
  { id: 'conversation.', label: 'Synced conversations' },
  { id: 'auth.', label: 'Sign-in access' },
];

/** The start of a day (as typed, in local time) as an ISO instant; `nextDay` for the end of an inclusive range. */
function dayStart(day: string, nextDay = false): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const start = new Date(`${day}T00:00:00`);
  if (Number.isNaN(start.getTime())) return undefined;
  if (nextDay) start.setDate(start.getDate() + 1);
  return start.toISOString();
}

function details(entry: Entry): string {
  const parts = Object.entries(entry.metadata ?? {}).map(
    ([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return parts.join('; ');
}

/**
 * The workspace's audit log (owners; the cloud refuses anyone else): newest
 * first, filtered by days, person and event type, page by page; exported
 * whole (every page matching the filters) as CSV or JSON by the host, which
 * says where it saved the file.
 */
export function AuditPanel({ workspace, userId }: PanelProps) {
  const people = usePeople(workspace, userId);
  const [fromDay, setFromDay] = useState('');
  const [toDay, setToDay] = useState('');
  const [actor, setActor] = useState(ANY);
  const [type, setType] = useState(ANY);
  const [saved, setSaved] = useState<string>();
  const exporting = useAction();
  const from = dayStart(fromDay);
  const to = dayStart(toDay, true);
  const filters = {
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(actor === ANY ? {} : { actor }),
    ...(type === ANY ? {} : { action: type }),
  };
  const entries = usePagedList('audit.list', { workspaceId: workspace.id, limit: 50, ...filters });

  const who = (entry: Entry): string => {
    if (entry.actorKind === 'user') return people.nameOf(entry.actorId);
    if (entry.actorKind === 'gateway') return `Gateway ${entry.actorId?.slice(0, 8) ?? ''}`.trim();
    if (entry.actorKind === 'system') return 'The cloud';
    return 'Someone not signed in';
  };
  const exportAs = (format: 'csv' | 'json') =>
    void exporting.run(async () => {
      setSaved(undefined);
      const file = await invoke('audit.export', { workspaceId: workspace.id, format, ...filters });
      setSaved(
        `Saved ${file.entries === 1 ? '1 entry' : `${file.entries} entries`} as ${format.toUpperCase()} to ${file.path}`,
      );
    });

  return (
    <section aria-label={`Audit log of ${workspace.name}`}>
      <Heading level={4}>Audit log</Heading>
      <p className="hint">
        Who did what in this workspace, newest first. Entries are chained by hash and never change.
      </p>
      <fieldset className="form-row">
        <legend>Filters</legend>
        <TextField value={fromDay} onChange={setFromDay}>
          <Label>From (day)</Label>
          <Input type="date" />
        </TextField>
        <TextField value={toDay} onChange={setToDay}>
          <Label>To (day, included)</Label>
          <Input type="date" />
        </TextField>
        <ChoiceSelect
          label="Person"
          choices={[
            { id: ANY, label: 'Anyone' },
            ...people.members.map((member) => ({
              id: member.userId,
              label: member.userId === userId ? 'You' : member.name || member.email,
            })),
          ]}
          value={actor}
          onChange={setActor}
        />
        <ChoiceSelect label="Event type" choices={EVENT_TYPES} value={type} onChange={setType} />
      </fieldset>
      <div className="form-actions">
        <Button isDisabled={exporting.busy} onPress={() => exportAs('csv')}>
          Export as CSV
        </Button>
        <Button isDisabled={exporting.busy} onPress={() => exportAs('json')}>
          Export as JSON
        </Button>
      </div>
      {exporting.busy ? <Loading>Exporting every matching entry…</Loading> : null}
      {saved ? <Saved>{saved}</Saved> : null}
      {exporting.error ? <ErrorNotice>{exporting.error}</ErrorNotice> : null}
      {entries.error ? (
        <ErrorNotice onRetry={() => void entries.reload()}>{entries.error}</ErrorNotice>
      ) : null}
      {entries.loading && !entries.items ? <Loading>Loading the audit log…</Loading> : null}
      {entries.items && entries.items.length === 0 ? (
        <Empty title="No entry matches these filters.">
          <p>Widen the days, or choose anyone and any event.</p>
        </Empty>
      ) : null}
      {entries.items && entries.items.length > 0 ? (
        <table className="audit-table">
          <caption>Audit entries</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Event</th>
              <th scope="col">On</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.items.map((entry) => (
              <tr key={entry.id}>
                <td>{when(entry.createdAt, true)}</td>
                <td>{who(entry)}</td>
                <td>{entry.action}</td>
                <td>
                  {entry.targetType ? `${entry.targetType} ${entry.targetId?.slice(0, 8) ?? ''}`.trim() : ''}
                </td>
                <td>{details(entry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {entries.hasMore ? (
        <Button isDisabled={entries.loading} onPress={() => void entries.loadMore()}>
          Load more entries
        </Button>
      ) : null}
    </section>
  );
}
