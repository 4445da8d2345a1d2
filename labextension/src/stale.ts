// A tab showing a published version says so when a newer version exists (the server knows).
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { call, PublishedState, Refused } from './api';
import { el } from './ui';

const SUFFIX = ' (stale)';
const marks = new WeakMap<NotebookPanel, Widget>();

/** Marks (or unmarks) a read-only notebook tab whose published version has a newer one. */
export async function markStale(panel: NotebookPanel): Promise<void> {
  await panel.context.ready;
  if (panel.context.contentsModel?.writable !== false) {
    return; // published copies are read-only; a writable notebook is a working file
  }
  let state: PublishedState;
  try {
    state = await call<PublishedState>('published', { query: { path: panel.context.path } });
  } catch (error) {
    if (error instanceof Refused) {
      return; // read-only, but not a published copy: nothing to say about it
    }
    throw error;
  }
  marks.get(panel)?.dispose();
  marks.delete(panel);
  panel.title.label = panel.title.label.replace(SUFFIX, '');
  panel.removeClass('jp-nbcollab-stale');
  if (!state.stale) {
    return;
  }
  const text = `stale: ${state.name} ${state.latest} is published (this is ${state.version})`;
  const mark = new Widget({ node: el('div', 'jp-nbcollab-stale-mark', [text]) });
  panel.contentHeader.addWidget(mark);
  marks.set(panel, mark);
  panel.title.label += SUFFIX;
  panel.title.caption = text;
  panel.addClass('jp-nbcollab-stale');
}
