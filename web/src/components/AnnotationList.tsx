'use client';

/** The annotations of the shown partition; a click jumps the chart to the span and selects it. */
import { NEGATIVE_LABEL } from '@/lib/constants';
import { formatUtc } from '@/lib/spans';
import type { SpanAnnotation } from '@/types';

export function AnnotationList(props: {
  annotations: readonly SpanAnnotation[];
  colorOf: (label: string) => string;
  selectedId: string | null;
  loading: boolean;
  onJump: (annotation: SpanAnnotation) => void;
  onEdit: (annotation: SpanAnnotation) => void;
  onDelete: (annotation: SpanAnnotation) => void;
}) {
  const { annotations, colorOf, selectedId, loading } = props;
  return (
    <aside className="list" aria-label="Annotations">
      <h2>
        Annotations <span className="count" data-testid="annotation-count">{annotations.length}</span>
      </h2>
      {!annotations.length && (
        <p className="list__empty">{loading ? 'Loading…' : 'No spans yet. Choose “Mark span” and drag across candles.'}</p>
      )}
      <ul data-testid="annotation-list">
        {annotations.map((a) => (
          <li
            key={a.id}
            className={`list__item ${a.id === selectedId ? 'is-selected' : ''}`}
            style={{ ['--chip' as string]: colorOf(a.label) }}
            data-testid="annotation-item"
            data-id={a.id}
            data-label={a.label}
          >
            <button type="button" className="list__jump" onClick={() => props.onJump(a)} title="Show this span on the chart">
              <span className="swatch" style={{ background: colorOf(a.label) }} />
              <span className="list__label">{a.label === NEGATIVE_LABEL ? 'O (not a pattern)' : a.label}</span>
              <span className="list__conf">{a.confidence.toFixed(2)}</span>
              <span className="list__time">{formatUtc(a.start_time)}</span>
              <span className="list__time">→ {formatUtc(a.end_time)}</span>
              {a.note && <span className="list__note">{a.note}</span>}
              {a.source !== 'human' && <span className="list__source">{a.source}</span>}
            </button>
            {a.id === selectedId && (
              <span className="list__actions">
                <button type="button" className="btn btn--small" data-testid="edit-selected" onClick={() => props.onEdit(a)}>
                  Edit
                </button>
                <button type="button" className="btn btn--small btn--danger" data-testid="delete-selected" onClick={() => props.onDelete(a)}>
                  Delete
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </aside>
  );
}
