/** The dialog reducer: each user action changes the selection, the dialog and its error together. */
import { describe, expect, it } from 'vitest';
import { dialogReducer, initialDialogState, isDialogOpen, type DialogAction, type DialogState } from '@/hooks/useAnnotationDialog';

const span = { from: 3, to: 5, start_time: 300, end_time: 500 };
const run = (actions: DialogAction[], state: DialogState = initialDialogState) => actions.reduce(dialogReducer, state);

describe('the annotation dialog reducer', () => {
  it('opens a drawn span, dropping the selection and an old error', () => {
    const s = run([{ type: 'spanClicked', id: 'a' }, { type: 'saveFailed', message: 'boom' }, { type: 'spanChosen', span }]);
    expect(s).toEqual({ ...initialDialogState, pending: span });
    expect(isDialogOpen(s, false)).toBe(true);
  });

  it('a click on a saved span selects and opens it; on the background, closes', () => {
    const opened = run([{ type: 'spanClicked', id: 'a' }]);
    expect(opened).toMatchObject({ selectedId: 'a', editing: true, pending: null });
    expect(isDialogOpen(opened, true)).toBe(true);
    expect(isDialogOpen(opened, false)).toBe(false); // the annotation is gone
    expect(run([{ type: 'spanClicked', id: null }], opened)).toMatchObject({ selectedId: null, editing: false });
  });

  it('the list selects without opening, or opens for editing', () => {
    expect(run([{ type: 'spanChosen', span }, { type: 'selected', id: 'b' }])).toMatchObject({ selectedId: 'b', editing: false, pending: null });
    expect(run([{ type: 'spanChosen', span }, { type: 'editRequested', id: 'b' }])).toMatchObject({ selectedId: 'b', editing: true, pending: null });
  });

  it('Esc closes the dialog first, then drops the selection', () => {
    const editing = run([{ type: 'spanClicked', id: 'a' }, { type: 'saveFailed', message: 'boom' }]);
    const closed = dialogReducer(editing, { type: 'escaped' });
    expect(closed).toMatchObject({ selectedId: 'a', editing: false, error: null });
    expect(dialogReducer(closed, { type: 'escaped' })).toMatchObject({ selectedId: null });
  });

  it('saving: busy, then closed with the new span selected, or the error shown', () => {
    const saving = run([{ type: 'spanChosen', span }, { type: 'saveStarted' }]);
    expect(saving).toMatchObject({ saving: true, error: null });
    expect(dialogReducer(saving, { type: 'saved', createdId: 'new' })).toEqual({ ...initialDialogState, selectedId: 'new' });
    expect(dialogReducer(saving, { type: 'saveFailed', message: 'boom' })).toMatchObject({ saving: false, error: 'boom', pending: span });
    const edited = run([{ type: 'spanClicked', id: 'a' }, { type: 'saveStarted' }, { type: 'saved' }]);
    expect(edited).toEqual({ ...initialDialogState, selectedId: 'a' });
  });

  it('"not a pattern" closes the reviewed prediction; a failure outside the dialog keeps its error', () => {
    const review = run([{ type: 'spanChosen', span }, { type: 'dismissStarted' }]);
    expect(review.saving).toBe(true);
    expect(dialogReducer(review, { type: 'dismissed' })).toMatchObject({ saving: false, pending: null, error: null });
    const failed = run([{ type: 'saveFailed', message: 'old' }, { type: 'dismissStarted' }, { type: 'saveFailed' }]);
    expect(failed).toMatchObject({ saving: false, error: 'old' });
  });

  it('a removed span is no longer selected; another partition resets the selection', () => {
    const s = run([{ type: 'spanClicked', id: 'a' }]);
    expect(dialogReducer(s, { type: 'removed', id: 'a' })).toMatchObject({ selectedId: null, editing: false });
    expect(dialogReducer(s, { type: 'removed', id: 'b' })).toMatchObject({ selectedId: 'a', editing: false });
    expect(run([{ type: 'spanChosen', span }, { type: 'partitionChanged' }])).toMatchObject({ pending: null, selectedId: null, editing: false });
  });
});
