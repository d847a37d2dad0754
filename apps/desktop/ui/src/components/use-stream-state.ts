import { useEffect, useState } from 'react';
import { onStreamState, type StreamState } from '../ipc/events';

/** Whether the event stream is live: the window says so when it is not. */
export function useStreamState(): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => onStreamState(setState), []);
  return state;
}
