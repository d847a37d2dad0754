import type { ReactNode } from 'react';
import { Button } from 'react-aria-components';

/** A plain-words failure, announced to screen readers, with a way to try again. */
export function ErrorNotice({ children, onRetry }: { children: ReactNode; onRetry?: () => void }) {
  return (
    <div role="alert" className="notice notice-error">
      <p>{children}</p>
      {onRetry ? <Button onPress={onRetry}>Try again</Button> : null}
    </div>
  );
}

/** Work in progress, with a message (never a bare spinner). */
export function Loading({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice notice-loading">
      {children}
    </p>
  );
}

/** What a screen shows when it has nothing yet, and what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="notice notice-empty">
      <p className="notice-title">{title}</p>
      {children}
    </div>
  );
}

/** A short confirmation after a change, announced politely. */
export function Saved({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice notice-ok">
      {children}
    </p>
  );
}
