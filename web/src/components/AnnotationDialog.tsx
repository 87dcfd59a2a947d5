'use client';

/**
 * Create or edit one span: label (from the list, with its colour), confidence, note.
 * Save, cancel (Esc), delete (edit only). Opened on a model prediction, it shows what the
 * model said and offers "Not a pattern" (a negative annotation) next to saving the span.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { NEGATIVE_LABEL } from '@/lib/constants';
import { labelChoices, type LabelPalette } from '@/lib/labels';
import { formatUtc } from '@/lib/spans';
import { percent } from '@/lib/predictions/overlay';
import type { PredictionSpan } from '@/types/predictions';

export interface DialogValues {
  label: string;
  confidence: number;
  note: string;
}

export function AnnotationDialog(props: {
  mode: 'create' | 'edit';
  pair: string;
  timeframe: string;
  startTime: number;
  endTime: number;
  candleCount: number | null;
  /** The labels offered and their colours. */
  palette: LabelPalette;
  initial: DialogValues;
  saving: boolean;
  error: string | null;
  onSave: (values: DialogValues) => void;
  onCancel: () => void;
  onDelete?: () => void;
  /** The model's prediction this span comes from (review of a prediction). */
  prediction?: PredictionSpan;
  /** Save "not a pattern" for the prediction instead. */
  onNotAPattern?: () => void;
}) {
  const { mode, palette, initial, saving, error } = props;
  const [label, setLabel] = useState(initial.label);
  const [confidence, setConfidence] = useState(initial.confidence);
  const [note, setNote] = useState(initial.note);
  const saveRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();

  useEffect(() => {
    saveRef.current?.focus();
  }, []);

  const all = labelChoices(palette, label);

  return (
    <div className="dialog" role="dialog" aria-labelledby={titleId} data-testid="annotation-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (label) props.onSave({ label, confidence, note });
        }}
      >
        <h2 id={titleId}>{props.prediction ? 'Review prediction' : mode === 'create' ? 'New span' : 'Edit span'}</h2>
        <p className="dialog__span" data-testid="dialog-span">
          {props.pair} · {props.timeframe}: {formatUtc(props.startTime)} → {formatUtc(props.endTime)}
          {props.candleCount !== null && ` (${props.candleCount} candle${props.candleCount === 1 ? '' : 's'})`}
        </p>
        {props.prediction && (
          <p className="dialog__model" data-testid="dialog-prediction">
            Model: <b>{props.prediction.label}</b> ({percent(props.prediction.confidence)}), version {props.prediction.model_version}
          </p>
        )}
        <fieldset className="labels">
          <legend>Label</legend>
          {all.map((l) => (
            <button
              type="button"
              key={l.name}
              className={`label-chip ${l.name === label ? 'is-active' : ''}`}
              style={{ ['--chip' as string]: l.color }}
              aria-pressed={l.name === label}
              data-testid={`label-option-${l.name}`}
              onClick={() => setLabel(l.name)}
            >
              <span className="swatch" style={{ background: l.color }} />
              {l.name === NEGATIVE_LABEL ? 'O — not a pattern' : l.name}
            </button>
          ))}
        </fieldset>
        <label className="field">
          <span>
            Confidence <output data-testid="confidence-value">{confidence.toFixed(2)}</output>
          </span>
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={confidence}
            data-testid="confidence-input"
            onChange={(e) => setConfidence(Number(e.target.value))}
          />
        </label>
        <label className="field">
          <span>Note</span>
          <textarea rows={3} value={note} maxLength={4000} data-testid="note-input" onChange={(e) => setNote(e.target.value)} />
        </label>
        {error && (
          <p className="dialog__error" role="alert" data-testid="dialog-error">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          {props.onDelete && (
            <button type="button" className="btn btn--danger" data-testid="delete-annotation" onClick={props.onDelete} disabled={saving}>
              Delete
            </button>
          )}
          {props.onNotAPattern && (
            <button type="button" className="btn" data-testid="dialog-not-a-pattern" onClick={props.onNotAPattern} disabled={saving}>
              Not a pattern
            </button>
          )}
          <span className="spacer" />
          <button type="button" className="btn" onClick={props.onCancel} data-testid="cancel-annotation">
            Cancel
          </button>
          <button type="submit" className="btn btn--primary" ref={saveRef} disabled={saving || !label} data-testid="save-annotation">
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </div>
  );
}
