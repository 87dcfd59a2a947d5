'use client';

/**
 * Create or edit one span: label (from the list, with its colour), confidence, note.
 * Save, cancel (Esc), delete (edit only). Opened on a model prediction, it shows what the
 * model said and offers "Not a pattern" (a negative annotation) next to saving the span.
 *
 * The start and end times can be edited (UTC; the server snaps them to candles).
 * Keys: `1`-`9` pick the label at that place (not in a text field), Enter saves from anywhere in
 * the dialog (Ctrl+Enter in the note; Enter on Cancel, Delete or "Not a pattern" does that),
 * and Tab / Shift+Tab go round inside the dialog (the focus never leaves it for the page).
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { NEGATIVE_LABEL, NOTE_MAX_CHARS } from '@/lib/constants';
import { labelChoices, type LabelPalette } from '@/lib/labels';
import { formatUtc } from '@/lib/spans';
import { percent } from '@/lib/predictions/overlay';
import type { PredictionSpan } from '@/types/predictions';

export interface DialogValues {
  label: string;
  confidence: number;
  note: string;
  /** The span's first and last candle times (seconds), as edited; the server snaps them to candles. */
  start_time?: number;
  end_time?: number;
}

/** "2026-03-25 02:00" (UTC) of epoch seconds, for the time fields. */
export const timeField = (t: number) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');

/** Epoch seconds of a time field ("YYYY-MM-DD HH:MM", UTC; seconds and a "T" allowed), or null. */
export function parseTimeField(text: string): number | null {
  const m = /^\s*(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)\s*(?:UTC|Z)?\s*$/i.exec(text);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2].length === 5 ? `${m[2]}:00` : m[2]}Z`);
  return Number.isFinite(ms) ? ms / 1000 : null;
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
  const [start, setStart] = useState(timeField(props.startTime));
  const [end, setEnd] = useState(timeField(props.endTime));
  const [timeError, setTimeError] = useState<string | null>(null);
  const saveRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();

  useEffect(() => {
    saveRef.current?.focus();
  }, []);

  const all = labelChoices(palette, label);
  const rootRef = useRef<HTMLDivElement>(null);

  const submit = () => {
    if (!label || saving) return;
    const start_time = parseTimeField(start);
    const end_time = parseTimeField(end);
    if (start_time === null || end_time === null) {
      return setTimeError(`${start_time === null ? 'Start' : 'End'}: not a time; write it as YYYY-MM-DD HH:MM (UTC).`);
    }
    if (end_time < start_time) return setTimeError('End: must be at or after the start.');
    setTimeError(null);
    props.onSave({ label, confidence, note, start_time, end_time });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const target = e.target as HTMLElement;
    const inNote = target.tagName === 'TEXTAREA';
    if (e.key === 'Tab') {
      // The focus trap: wrap from the last focusable element to the first and back.
      const focusable = [...(rootRef.current?.querySelectorAll<HTMLElement>('button, input, textarea, select, [tabindex]') ?? [])].filter(
        (el) => !(el as HTMLButtonElement).disabled && el.tabIndex >= 0,
      );
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      const inside = rootRef.current?.contains(document.activeElement);
      if (e.shiftKey && (document.activeElement === first || !inside)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
        e.preventDefault();
        first.focus();
      }
      return;
    }
    if (e.key === 'Enter') {
      const action = target.closest('[data-action]');
      if (action || (inNote && !(e.ctrlKey || e.metaKey))) return;
      e.preventDefault();
      submit();
      return;
    }
    const inText = inNote || (target.tagName === 'INPUT' && (target as HTMLInputElement).type === 'text');
    if (!inText && !e.ctrlKey && !e.metaKey && !e.altKey && /^[1-9]$/.test(e.key)) {
      const choice = all[Number(e.key) - 1];
      if (choice) {
        e.preventDefault();
        setLabel(choice.name);
      }
    }
  };

  return (
    <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} data-testid="annotation-dialog" ref={rootRef} onKeyDown={onKeyDown}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
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
        <div className="dialog__times">
          <label className="field">
            <span>Start (UTC)</span>
            <input type="text" value={start} data-testid="dialog-start" onChange={(e) => setStart(e.target.value)} spellCheck={false} />
          </label>
          <label className="field">
            <span>End (UTC)</span>
            <input type="text" value={end} data-testid="dialog-end" onChange={(e) => setEnd(e.target.value)} spellCheck={false} />
          </label>
        </div>
        <fieldset className="labels">
          <legend>Label</legend>
          {all.map((l, i) => (
            <button
              type="button"
              key={l.name}
              className={`label-chip ${l.name === label ? 'is-active' : ''}`}
              style={{ ['--chip' as string]: l.color }}
              aria-pressed={l.name === label}
              data-testid={`label-option-${l.name}`}
              onClick={() => setLabel(l.name)}
            >
              {i < 9 && <kbd className="label-chip__key">{i + 1}</kbd>}
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
          <span>
            Note{' '}
            <output className={note.length > NOTE_MAX_CHARS ? 'dialog__over' : 'count'} data-testid="note-count">
              {note.length.toLocaleString('en-US')} / {NOTE_MAX_CHARS.toLocaleString('en-US')}
            </output>
          </span>
          {/* No maxLength: a longer note is not cut silently; saving it answers why (400). */}
          <textarea rows={3} value={note} data-testid="note-input" onChange={(e) => setNote(e.target.value)} />
        </label>
        {(timeError ?? error) && (
          <p className="dialog__error" role="alert" data-testid="dialog-error">
            {timeError ?? error}
          </p>
        )}
        <div className="dialog__actions">
          {props.onDelete && (
            <button type="button" className="btn btn--danger" data-testid="delete-annotation" data-action onClick={props.onDelete} disabled={saving}>
              Delete
            </button>
          )}
          {props.onNotAPattern && (
            <button type="button" className="btn" data-testid="dialog-not-a-pattern" data-action onClick={props.onNotAPattern} disabled={saving}>
              Not a pattern
            </button>
          )}
          <span className="spacer" />
          <button type="button" className="btn" onClick={props.onCancel} data-testid="cancel-annotation" data-action>
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
