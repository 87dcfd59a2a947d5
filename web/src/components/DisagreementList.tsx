'use client';

/**
 * The disagreements to review, by time, one page (lib/review-cursor.ts's PAGE_SIZE) at a time
 * around the current one, so a long list needs no cap: the review starts at the view, "Previous"
 * and "Next" (or `p` / `n`) step through it, and it moves on after an accept or "Not a pattern".
 * The current item is marked and kept in view inside the list's own scroll box.
 */
import { useEffect, useRef } from 'react';
import { percent } from '@/lib/predictions/overlay';
import { page } from '@/lib/review-cursor';
import { formatUtc } from '@/lib/spans';
import type { Disagreement, DisagreementKind } from '@/types/predictions';

const KIND_TEXT: Record<DisagreementKind, string> = {
  missed_by_model: 'missed by the model',
  missed_by_human: 'not annotated',
  label_mismatch: 'label mismatch',
};

export function DisagreementList(props: {
  /** Ordered by start time. */
  list: readonly Disagreement[];
  currentId: string | null;
  /** Time of the first candle in view (where the review starts), for the browser tests. */
  viewStart?: number | null;
  onStep: (by: 1 | -1) => void;
  onJump: (d: Disagreement) => void;
  onReview: (d: Disagreement) => void;
  onNotAPattern: (d: Disagreement) => void;
}) {
  const { list, currentId } = props;
  const index = Math.max(0, list.findIndex((d) => d.id === currentId));
  const { from, to } = page(list.length, index);
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    const el = listRef.current?.querySelector<HTMLElement>('[data-current=true]');
    const box = listRef.current;
    if (el && box) box.scrollTop = el.offsetTop - box.offsetTop - box.clientHeight / 3;
  }, [currentId, from]);

  if (!list.length) return null;
  return (
    <div className="review" data-testid="review-list" data-view-start={props.viewStart ?? ''}>
      <div className="review__nav">
        <button type="button" className="btn btn--small" data-testid="review-prev" onClick={() => props.onStep(-1)} disabled={index <= 0 && currentId !== null} title="Previous disagreement (p)">
          ‹ Previous
        </button>
        <span className="review__pos" data-testid="review-position">
          {currentId === null ? '–' : index + 1} / {list.length}
        </span>
        <button type="button" className="btn btn--small" data-testid="review-next" onClick={() => props.onStep(1)} disabled={index >= list.length - 1} title="Next disagreement (n)">
          Next ›
        </button>
      </div>
      <ul className="disagreements" data-testid="disagreement-list" ref={listRef}>
        {list.slice(from, to).map((d) => (
          <li
            key={d.id}
            className={`disagreement disagreement--${d.kind} ${d.id === currentId ? 'is-current' : ''}`}
            data-testid="disagreement-item"
            data-kind={d.kind}
            data-id={d.id}
            data-current={d.id === currentId}
          >
            <button type="button" className="disagreement__jump" onClick={() => props.onJump(d)} title="Show on the chart">
              <span className="disagreement__kind">{KIND_TEXT[d.kind]}</span>
              <span>
                {d.prediction ? `${d.prediction.label} (${percent(d.prediction.confidence)})` : d.human?.label}
                {d.kind === 'label_mismatch' && d.human ? ` vs ${d.human.label}` : ''}
              </span>
              <span className="disagreement__time">{formatUtc(d.start_time)}</span>
            </button>
            {d.prediction && (
              <span className="disagreement__actions">
                <button type="button" className="btn btn--small" data-testid="review-prediction" onClick={() => props.onReview(d)}>
                  Review
                </button>
                <button type="button" className="btn btn--small" data-testid="not-a-pattern" onClick={() => props.onNotAPattern(d)}>
                  Not a pattern
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {list.length > to - from && (
        <p className="disagreements__more" data-testid="review-page">
          {from + 1}–{to} of {list.length}; Previous / Next go on past this page
        </p>
      )}
    </div>
  );
}
