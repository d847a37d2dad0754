import type { DesktopCommandInput, DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useCallback, useEffect, useRef, useState } from 'react';
import { invoke, messageOf } from '../../ipc/client';
import type { WorkspaceView } from './panel';

/** The cloud's keyset-paged lists the team panels show. */
type PagedCommand =
  | 'gateways.list'
  | 'transcripts.list'
  | 'audit.list'
  | 'workspaceAgents.list'
  | 'secrets.list';
type ItemOf<C extends PagedCommand> = DesktopCommandOutput<C>['items'][number];
type Member = DesktopCommandOutput<'members.list'>['items'][number];
type PageOf<C extends PagedCommand> = { items: ItemOf<C>[]; nextCursor: string | null };

export interface PagedList<Item> {
  items: Item[] | undefined;
  /** More to load after the last item shown. */
  hasMore: boolean;
  error: string | undefined;
  loading: boolean;
  /** The first page again, from scratch (filters changed, something was deleted). */
  reload: () => Promise<void>;
  /** The first page again, merged into what is shown: new and changed items come first, loaded pages stay. */
  refresh: () => Promise<void>;
  loadMore: () => Promise<void>;
}

/**
 * A list the cloud pages with `nextCursor`: the first page when shown (and
 * whenever `input` changes), "Load more" appends the next. A refresh on a
 * real-time event keeps the pages already loaded.
 */
export function usePagedList<C extends PagedCommand>(
  command: C,
  input: Omit<DesktopCommandInput<C>, 'cursor'>,
): PagedList<ItemOf<C>> {
  const key = JSON.stringify(input);
  const [items, setItems] = useState<ItemOf<C>[]>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  const fetchPage = useCallback(
    async (cursor?: string): Promise<PageOf<C>> =>
      (await invoke(command, {
        ...(JSON.parse(key) as object),
        ...(cursor ? { cursor } : {}),
      } as DesktopCommandInput<C>)) as unknown as PageOf<C>,
    [command, key],
  );
  const load = useCallback(
    async (apply: (page: PageOf<C>) => void, cursor?: string) => {
      const call = ++latest.current;
      setLoading(true);
      try {
        const page = await fetchPage(cursor);
        if (call !== latest.current) return;
        apply(page);
        setError(undefined);
      } catch (failure) {
        if (call === latest.current) setError(messageOf(failure));
      } finally {
        if (call === latest.current) setLoading(false);
      }
    },
    [fetchPage],
  );
  // Whether pages past the first are shown: a refresh then keeps their cursor.
  const paged = useRef(false);
  const reload = useCallback(
    () =>
      load((page) => {
        paged.current = false;
        setItems(page.items);
        setNext(page.nextCursor);
      }),
    [load],
  );
  const refresh = useCallback(
    () =>
      load((page) => {
        const fresh = new Set(page.items.map((item) => item.id));
        setItems((shown) => [...page.items, ...(shown ?? []).filter((item) => !fresh.has(item.id))]);
        if (!paged.current) setNext(page.nextCursor);
      }),
    [load],
  );
  const loadMore = useCallback(async () => {
    if (!next) return;
    await load((page) => {
      paged.current = true;
      setItems((shown) => {
        const known = new Set((shown ?? []).map((item) => item.id));
        return [...(shown ?? []), ...page.items.filter((item) => !known.has(item.id))];
      });
      setNext(page.nextCursor);
    }, next);
  }, [load, next]);
  useEffect(() => {
    setItems(undefined);
    void reload();
  }, [reload]);
  return { items, hasMore: next !== null, error, loading, reload, refresh, loadMore };
}

/**
 * Every page of a list, loaded one after another: for what a form offers to
 * choose from (the secrets an agent may use, the agents a secret is granted
 * to) and the names it shows, where a first page would silently leave some out.
 */
export function useWholeList<C extends PagedCommand>(
  command: C,
  input: Omit<DesktopCommandInput<C>, 'cursor'>,
): PagedList<ItemOf<C>> {
  const list = usePagedList(command, input);
  const { hasMore, loading, error, loadMore } = list;
  useEffect(() => {
    if (hasMore && !loading && !error) void loadMore();
  }, [hasMore, loading, error, loadMore]);
  return list;
}

/**
 * Names for the people of a workspace: an owner sees every member (by name
 * or email); a member knows only themself (the cloud lists members to owners only).
 */
export function usePeople(workspace: WorkspaceView, userId: string) {
  const owner = workspace.role === 'owner';
  const [members, setMembers] = useState<Member[]>([]);
  useEffect(() => {
    if (!owner) return;
    let live = true;
    invoke('members.list', { workspaceId: workspace.id })
      .then((page) => live && setMembers(page.items))
      // Without names, ids still say who; the panel's own list reports what failed.
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [owner, workspace.id]);
  const nameOf = (id: string | null | undefined): string => {
    if (!id) return 'Nobody';
    if (id === userId) return 'You';
    const member = members.find((candidate) => candidate.userId === id);
    return member ? member.name || member.email : `Not a member now (${id.slice(0, 8)})`;
  };
  return { members, nameOf };
}

/** A time of the cloud's (ISO 8601) in the person's own words and zone; `seconds` where order within a minute matters. */
export function when(iso: string, seconds = false): string {
  return new Date(iso).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: seconds ? 'medium' : 'short',
  });
}
