// The conflicts panel: each colliding cell side by side, whose edit it is, a jump to the cell,
// and a choice per cell (keep mine, theirs or both); Apply resolves through the server.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { call, Choice, Conflict, report } from './api';
import { workingCopy } from './documents';
import { sync } from './sync';
import { el } from './ui';

const CHOICES: [Choice, string][] = [
  ['mine', 'keep mine'],
  ['theirs', 'keep theirs'],
  ['both', 'keep both']
];

export class ConflictsPanel extends Widget {
  private chosen = new Map<Conflict, Choice>();
  private root: string | null = null; // the working copy's top: conflicts name files under it
  private apply = el('button', 'jp-mod-styled jp-mod-accept jp-nbcollab-apply', ['Apply'], {
    disabled: true
  });

  constructor(
    private app: JupyterFrontEnd,
    private docManager: IDocumentManager,
    readonly path: string
  ) {
    super();
    this.title.label = 'Conflicts';
    this.title.caption = `Conflicts in the working copy of ${path}`;
    this.title.closable = true;
    this.addClass('jp-nbcollab-conflicts');
    this.apply.onclick = () => void this.resolve();
  }

  /** Asks the server for the conflicts and shows them; closes itself when there are none. */
  async load(): Promise<void> {
    const { conflicts } = await call<{ conflicts: Conflict[] }>('conflicts', {
      query: { path: this.path }
    });
    this.root = await workingCopy(this.path);
    this.chosen.clear();
    this.apply.disabled = conflicts.length > 0;
    const intro = conflicts.length
      ? 'These cells were changed on both sides. Choose per cell, then Apply.'
      : 'No conflicts left.';
    this.node.replaceChildren(
      el('h2', '', [`Conflicts in ${this.path}`]),
      el('p', '', [intro]),
      ...conflicts.map(conflict => this.row(conflict)),
      this.apply
    );
  }

  private row(conflict: Conflict): HTMLElement {
    const jump = el('button', 'jp-mod-styled jp-nbcollab-jump', ['Jump to cell'], {
      onclick: () => void this.jump(conflict)
    });
    const name = `${conflict.file}#${conflict.index}`;
    const choices = CHOICES.map(([choice, label]) =>
      el('label', 'jp-nbcollab-choice', [
        el('input', '', [], {
          type: 'radio',
          name,
          value: choice,
          onchange: () => this.choose(conflict, choice)
        }),
        label
      ])
    );
    return el('section', 'jp-nbcollab-conflict', [
      el('header', '', [el('strong', '', [`${conflict.file}, cell ${conflict.cell}`]), jump]),
      el('div', 'jp-nbcollab-sides', [
        el('div', 'jp-nbcollab-mine', [el('h3', '', ['mine']), el('pre', '', [conflict.mine])]),
        el('div', 'jp-nbcollab-theirs', [
          el('h3', '', [`${conflict.theirs_author}'s`]),
          el('pre', '', [conflict.theirs])
        ])
      ]),
      el('div', 'jp-nbcollab-choices', choices)
    ]);
  }

  private choose(conflict: Conflict, choice: Choice): void {
    this.chosen.set(conflict, choice);
    this.apply.disabled = this.node.querySelectorAll('.jp-nbcollab-conflict').length !==
      this.chosen.size;
  }

  private async jump(conflict: Conflict): Promise<void> {
    const path = this.root ? `${this.root}/${conflict.file}` : conflict.file;
    const widget = this.docManager.openOrReveal(path);
    if (!(widget instanceof NotebookPanel)) {
      return;
    }
    await widget.context.ready;
    await widget.revealed;
    const notebook = widget.content;
    notebook.activeCellIndex = conflict.index;
    if (notebook.activeCell) {
      await notebook.scrollToCell(notebook.activeCell);
    }
  }

  private async resolve(): Promise<void> {
    const choices = [...this.chosen].map(([conflict, choice]) => ({
      file: conflict.file,
      index: conflict.index,
      choice
    }));
    this.apply.disabled = true;
    try {
      const result = await sync(this.app, this.docManager, this.path, 'resolve', { choices });
      if (result.conflicts.length === 0) {
        this.dispose(); // its MainAreaWidget goes with it
      }
    } catch (error) {
      this.apply.disabled = false;
      await report('Cannot resolve the conflicts', error);
    }
  }
}
