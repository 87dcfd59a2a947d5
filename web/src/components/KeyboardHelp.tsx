'use client';

/** The `?` overlay: every key of the workbench, the dialog and the review-queue panel. */
import { useEffect, useRef } from 'react';

const GROUPS: { title: string; keys: [string, string][] }[] = [
  {
    title: 'Chart and review list',
    keys: [
      ['n / p', 'next / previous disagreement (starts at the view)'],
      ['a', 'accept the current prediction'],
      ['x', '"Not a pattern" for the current prediction'],
      ['1 – 9', 'label for the next span you draw'],
      ['Delete', 'delete the selected span'],
      ['Ctrl+Z', 'undo the last change'],
      ['Ctrl+Shift+Z, Ctrl+Y', 'redo'],
      ['Esc', 'cancel the selection or close the dialog'],
      ['?', 'this list'],
    ],
  },
  {
    title: 'Span dialog',
    keys: [
      ['1 – 9', 'pick a label'],
      ['Enter', 'save (Ctrl+Enter in the note)'],
      ['Tab / Shift+Tab', 'move within the dialog'],
      ['Esc', 'cancel'],
    ],
  },
  {
    // The review-queue panel's own keys (issue 17), active only while it is open.
    title: 'Review queue (while its panel is open)',
    keys: [
      ['a', 'accept'],
      ['x', 'not a pattern'],
      ['e', 'edit'],
      ['s', 'skip'],
      ['u', 'undo'],
    ],
  },
];

export function KeyboardHelp(props: { onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeRef.current?.focus();
  }, []);
  return (
    <div className="help" role="dialog" aria-label="Keyboard shortcuts" data-testid="keyboard-help" onClick={props.onClose}>
      <div className="help__card" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        {GROUPS.map((g) => (
          <section key={g.title}>
            <h3>{g.title}</h3>
            <dl>
              {g.keys.map(([k, what]) => (
                <div key={k} className="help__row">
                  <dt>
                    <kbd>{k}</kbd>
                  </dt>
                  <dd>{what}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
        <button type="button" className="btn" ref={closeRef} onClick={props.onClose} data-testid="keyboard-help-close">
          Close
        </button>
      </div>
    </div>
  );
}
