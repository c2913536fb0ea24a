import { useEffect, useRef } from 'react';

/** An inline confirmation: what will happen, in words, and two buttons; Escape cancels. */
export function Confirm({ text, action, onYes, onNo }: { text: string; action: string; onYes(): void; onNo(): void }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div
      role="alertdialog"
      aria-label={action}
      className="confirm"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onNo();
      }}
    >
      <p>{text}</p>
      <button type="button" className="danger" onClick={onYes}>
        {action}
      </button>
      <button type="button" ref={ref} onClick={onNo}>
        Cancel
      </button>
    </div>
  );
}
