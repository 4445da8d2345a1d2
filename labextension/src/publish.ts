// Publish from JupyterLab: notebook name, bump and message; the dry run first (the server
// refuses unsynced work), then the real publish, and the read-only copy opens.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Widget } from '@lumino/widgets';

import { call, Publication } from './api';
import { el, field, lines } from './ui';

const BUMPS = ['MINOR', 'MAJOR', 'HOTFIX'];

interface PublishRequest {
  notebook: string;
  bump: string;
  message: string;
}

class PublishForm extends Widget implements Dialog.IBodyWidget<PublishRequest> {
  private notebook: HTMLInputElement;
  private bump = el(
    'select',
    'jp-mod-styled jp-nbcollab-bump',
    BUMPS.map(bump => el('option', '', [bump], { value: bump }))
  );
  private message = el('input', 'jp-mod-styled jp-nbcollab-message', [], {
    type: 'text',
    placeholder: 'what this version is'
  });

  constructor(notebook: string) {
    super();
    this.notebook = el('input', 'jp-mod-styled jp-nbcollab-notebook', [], {
      type: 'text',
      value: notebook
    });
    this.node.append(
      field('Notebook', this.notebook),
      field('Bump', this.bump),
      field('Message', this.message),
      el('div', 'jp-nbcollab-hint', [
        'MAJOR: breaking change; MINOR: new work; HOTFIX: fixes. A dry run comes first.'
      ])
    );
  }

  getValue(): PublishRequest {
    return {
      notebook: this.notebook.value.trim(),
      bump: this.bump.value,
      message: this.message.value
    };
  }
}

/** Publishes the collaboration whose working copy holds `path`; returns the published copy's
 * path (opened read-only), or null when the person stopped. Throws `Refused`. */
export async function publish(docManager: IDocumentManager, path: string): Promise<string | null> {
  const asked = await showDialog({
    title: 'Publish',
    body: new PublishForm(PathExt.basename(path, '.ipynb')),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Dry run' })]
  });
  if (!asked.button.accept || !asked.value) {
    return null;
  }
  const request = { path, ...asked.value };
  const plan = await call<Publication>('publish', { body: { ...request, dry_run: true } });
  const confirmed = await showDialog({
    title: `Publish ${asked.value.notebook} ${plan.version}?`,
    body: lines(
      `version: ${plan.version}`,
      ...plan.summary.map(line => `merged ${line}`),
      `authors merged: ${plan.authors.join(', ') || 'none'}`,
      `files: ${plan.files.join(', ')}`
    ),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Publish' })]
  });
  if (!confirmed.button.accept) {
    return null;
  }
  const done = await call<Publication>('publish', { body: { ...request, dry_run: false } });
  if (done.published) {
    docManager.openOrReveal(done.published);
  }
  return done.published ?? null;
}
