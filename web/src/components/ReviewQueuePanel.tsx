'use client';

/**
 * The review queue panel: the partition's stretches where a label teaches the model most, one at
 * a time. Each step jumps the chart to the stretch and shows the model's answer and confidence.
 * While the panel is open and focused (its root carries data-keyboard-scope="review-queue", so
 * the global shortcuts leave these keys alone): a accept, x not a pattern, e edit then save,
 * s skip, u undo. Answers are saved as annotations and marked reviewed in the web's database,
 * so it keeps working while the inference service is down (the loaded queue stays). An answer is
 * one step of the workbench's undo history (Ctrl+Z / Ctrl+Shift+Z, the toast): `u` takes back a
 * skip here, or the newest answer through that same history (hooks/useReviewQueue).
 */
import { useCallback, useEffect, useRef, useState, type Dispatch, type KeyboardEvent } from 'react';
import { useReviewQueue } from '@/hooks/useReviewQueue';
import type { Annotations } from '@/hooks/useAnnotations';
import type { DialogAction, DialogState } from '@/hooks/useAnnotationDialog';
import type { Selection } from '@/hooks/usePartitions';
import { describePrediction, keyCommand } from '@/lib/review-queue';
import { formatUtc } from '@/lib/spans';

export interface ReviewQueuePanelProps {
  selection: Selection | null;
  /** Times of the loaded candles (to place a stretch on the chart). */
  times: readonly number[];
  store: Annotations;
  dialog: DialogState;
  dispatch: Dispatch<DialogAction>;
  /** Bring a span into the chart's view (hooks/useSpanJump). */
  jumpTo: (span: { start_time: number; end_time: number; timeframe: string }) => Promise<void>;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable));
}

export function ReviewQueuePanel({ selection, times, store, dialog, dispatch, jumpTo }: ReviewQueuePanelProps) {
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLElement>(null);
  const focusPanel = useCallback(() => rootRef.current?.focus(), []);
  const q = useReviewQueue({ selection, times, store, dialog, dispatch, onAnswered: focusPanel });
  const { current } = q;

  // Each step: the chart jumps to the stretch (once per stretch shown).
  const jumped = useRef<string | null>(null);
  useEffect(() => {
    if (!open || !current || !selection) {
      jumped.current = null;
      return;
    }
    const key = `${selection.pair}|${selection.timeframe}|${current.start_time}-${current.end_time}`;
    if (jumped.current === key) return;
    jumped.current = key;
    void jumpTo({ start_time: current.start_time, end_time: current.end_time, timeframe: selection.timeframe });
  }, [open, current, selection, jumpTo]);

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (isTyping(e.target)) return;
    const command = keyCommand(e);
    if (!command) return;
    e.preventDefault();
    e.stopPropagation();
    if (command === 'skip') q.skip();
    else if (command === 'undo') q.undo();
    else q.answer(command);
  };

  if (!selection) return null;
  return (
    <section
      ref={rootRef}
      className="predictions review-queue"
      aria-label="Review queue"
      data-testid="review-queue"
      data-keyboard-scope="review-queue"
      tabIndex={open ? 0 : -1}
      onKeyDown={open ? onKeyDown : undefined}
    >
      <header className="predictions__head">
        <h2>Review queue</h2>
        <button
          type="button"
          data-testid="review-queue-toggle"
          aria-expanded={open}
          onClick={() => {
            setOpen((o) => !o);
            setTimeout(focusPanel, 0);
          }}
        >
          {open ? 'Close' : 'Open'}
        </button>
      </header>
      {open && (
        <>
          <p className="predictions__status" data-testid="review-progress">
            {q.progress.reviewed} / {q.progress.total} reviewed
            {q.queue ? ` · model ${q.queue.model_version}, built ${q.queue.built_at}` : ''}
          </p>
          {q.queueError && (
            <p className="predictions__status predictions__status--offline" data-testid="review-queue-error">
              {q.queueError}{' '}
              <button type="button" onClick={q.reload}>
                Retry
              </button>
            </p>
          )}
          {q.loading && !q.queue && <p className="predictions__status">Loading the queue…</p>}
          {current ? (
            <div data-testid="review-current" data-start={current.start_time} data-end={current.end_time} data-rank={current.rank}>
              <p>
                <b>#{current.rank}</b> {formatUtc(current.start_time)} → {formatUtc(current.end_time)}
              </p>
              <p data-testid="review-prediction">
                Model: <b>{describePrediction(current)}</b>
              </p>
              <p className="predictions__status">
                Why: {current.reason}
                {current.disagreement ? ` (${current.disagreement})` : ''}
                {current.reentered ? ' · back: the model changed its answer' : ''} · score {current.score.toFixed(2)}
              </p>
              <div className="review-queue__keys">
                <button type="button" disabled={q.busy} onClick={() => q.answer('accept')} title="a">
                  Accept (a)
                </button>{' '}
                <button type="button" disabled={q.busy} onClick={() => q.answer('dismiss')} title="x">
                  Not a pattern (x)
                </button>{' '}
                <button type="button" disabled={q.busy} onClick={() => q.answer('edit')} title="e">
                  Edit (e)
                </button>{' '}
                <button type="button" disabled={q.busy} onClick={q.skip} title="s">
                  Skip (s)
                </button>{' '}
                <button type="button" disabled={!q.canUndo} onClick={q.undo} title="u (one history with Ctrl+Z)">
                  Undo (u)
                </button>
              </div>
            </div>
          ) : (
            q.queue && (
              <p className="predictions__status" data-testid="review-done">
                Nothing left to review in this queue.{' '}
                <button type="button" disabled={!q.canUndo} onClick={q.undo}>
                  Undo (u)
                </button>
              </p>
            )
          )}
          {q.waitingForCandles && (
            <p className="predictions__status" data-testid="review-waiting">
              Loading the stretch&apos;s candles; the answer goes through when they are on the chart…
            </p>
          )}
          {q.error && (
            <p className="predictions__status predictions__status--offline" role="alert" data-testid="review-error">
              {q.error}
            </p>
          )}
        </>
      )}
    </section>
  );
}
