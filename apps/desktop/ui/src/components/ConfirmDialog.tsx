import type { ReactNode } from 'react';
import { Button, Dialog, Heading, Modal } from 'react-aria-components';

/** "Are you sure?" before something that cannot be undone: Cancel, or the named danger button. */
export function ConfirmDialog(props: {
  isOpen: boolean;
  onDismiss: () => void;
  title: string;
  confirmLabel: string;
  onConfirm: () => void;
  children: ReactNode;
}) {
  return (
    <Modal isDismissable isOpen={props.isOpen} onOpenChange={(open) => !open && props.onDismiss()}>
      <Dialog role="alertdialog" className="dialog">
        {({ close }) => (
          <>
            <Heading slot="title">{props.title}</Heading>
            {props.children}
            <div className="form-actions">
              <Button onPress={close}>Cancel</Button>
              <Button className="react-aria-Button danger" onPress={props.onConfirm}>
                {props.confirmLabel}
              </Button>
            </div>
          </>
        )}
      </Dialog>
    </Modal>
  );
}
