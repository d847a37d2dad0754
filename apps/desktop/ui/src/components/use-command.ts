import type { DesktopCommand, DesktopCommandInput, DesktopCommandOutput } from '@multiclaw/protocol/desktop';
import { useCallback, useEffect, useRef, useState } from 'react';
import { invoke, messageOf } from '../ipc/client';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Calls a reading command when the screen shows (and again on `reload`), keeping loading and error states. */
export function useCommand<C extends DesktopCommand>(
  command: C,
  input: DesktopCommandInput<C>,
): Loaded<DesktopCommandOutput<C>> {
  const [data, setData] = useState<DesktopCommandOutput<C>>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const key = JSON.stringify(input);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const call = ++latest.current;
    setLoading(true);
    try {
      const answer = await invoke(command, JSON.parse(key) as DesktopCommandInput<C>);
      if (call !== latest.current) return;
      setData(answer);
      setError(undefined);
    } catch (failure) {
      if (call === latest.current) setError(messageOf(failure));
    } finally {
      if (call === latest.current) setLoading(false);
    }
  }, [command, key]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** Runs one changing command at a time for a form, keeping its error in words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async <T>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (failure) {
      setError(messageOf(failure));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clearError: () => setError(undefined) };
}
