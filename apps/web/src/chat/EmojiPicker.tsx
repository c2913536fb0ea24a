import { type KeyboardEvent, useEffect, useRef } from 'react';

/**
 * A small reaction picker: the emoji people actually react with, in a grid with arrow-key
 * navigation. A full emoji library (emoji-mart and friends) weighs more than the rest of the
 * page put together (~200 KiB compressed with its data), which the 150 KiB budget cannot pay.
 */
export const REACTIONS = [
  { e: '👍', n: 'thumbs up' },
  { e: '👎', n: 'thumbs down' },
  { e: '❤️', n: 'heart' },
  { e: '😂', n: 'laughing' },
  { e: '😮', n: 'surprised' },
  { e: '😢', n: 'sad' },
  { e: '🎉', n: 'party' },
  { e: '🙏', n: 'thanks' },
  { e: '👀', n: 'eyes' },
  { e: '🔥', n: 'fire' },
  { e: '✅', n: 'done' },
  { e: '🚀', n: 'rocket' },
  { e: '🤔', n: 'thinking' },
  { e: '💯', n: 'hundred' },
  { e: '👏', n: 'applause' },
  { e: '😅', n: 'sweat smile' },
] as const;
const COLS = 8;

export function EmojiPicker({ onPick, onClose }: { onPick(emoji: string): void; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector('button')?.focus();
    const away = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [onClose]);
  const onKeyDown = (e: KeyboardEvent) => {
    const buttons = [...(ref.current?.querySelectorAll('button') ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLS, ArrowUp: -COLS };
    if (e.key === 'Escape') {
      e.preventDefault();
      onClose();
    } else if (e.key in move && i >= 0) {
      e.preventDefault();
      buttons[(i + (move[e.key] ?? 0) + buttons.length) % buttons.length]?.focus();
    }
  };
  return (
    <div ref={ref} className="emoji-picker" role="dialog" aria-label="Pick a reaction" onKeyDown={onKeyDown}>
      {REACTIONS.map((r) => (
        <button key={r.e} type="button" aria-label={r.n} title={r.n} onClick={() => onPick(r.e)}>
          {r.e}
        </button>
      ))}
    </div>
  );
}
