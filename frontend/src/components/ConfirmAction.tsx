// A destructive action that asks first, in the page (not a browser dialog):
// the question says what will happen, and nothing is done until confirmed.
import { type ReactNode, useState } from "react";
import { Button, ErrorBox } from "./ui";

export function ConfirmAction({
  label,
  question,
  confirmLabel,
  onConfirm,
  pending = false,
  error,
  disabled = false,
}: {
  label: string;
  question: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  pending?: boolean;
  error?: unknown;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button variant="danger" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  return (
    <div role="alertdialog" aria-label={label} className="flex w-full max-w-xl flex-col gap-2 rounded-md border border-gap/50 bg-panel p-3 text-sm">
      <div>{question}</div>
      <ErrorBox error={error} />
      <div className="flex gap-2">
        <Button variant="danger" disabled={pending} onClick={onConfirm} autoFocus>
          {confirmLabel}
        </Button>
        <Button onClick={() => setAsking(false)}>Keep it</Button>
      </div>
    </div>
  );
}
