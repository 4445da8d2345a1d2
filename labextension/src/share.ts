// Share a notebook from the file browser: pick teammates (the hub's team list), a name if wanted.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { call, Shared } from './api';
import { el, field, lines } from './ui';

interface ShareRequest {
  members: string[];
  name: string;
}

class ShareForm extends Widget implements Dialog.IBodyWidget<ShareRequest> {
  private boxes: HTMLInputElement[];
  private name = el('input', 'jp-mod-styled jp-nbcollab-name', [], {
    type: 'text',
    placeholder: "default: the notebook's file name"
  });

  constructor(members: string[]) {
    super();
    this.boxes = members.map(member =>
      el('input', '', [], { type: 'checkbox', value: member })
    );
    const team = this.boxes.map((box, i) =>
      el('label', 'jp-nbcollab-member', [box, members[i]])
    );
    this.node.append(
      el('div', 'jp-nbcollab-team', [el('div', '', ['Share with:']), ...team]),
      field('Name (optional)', this.name)
    );
  }

  getValue(): ShareRequest {
    return {
      members: this.boxes.filter(box => box.checked).map(box => box.value),
      name: this.name.value.trim()
    };
  }
}

/** Asks whom to share `path` with, shares it, and shows what the teammates run. */
export async function share(path: string): Promise<void> {
  const { members } = await call<{ members: string[] }>('team');
  const asked = await showDialog({
    title: `Share ${path}`,
    body: new ShareForm(members),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Share' })]
  });
  if (!asked.button.accept || !asked.value) {
    return;
  }
  const request: { [key: string]: unknown } = { path, members: asked.value.members };
  if (asked.value.name) {
    request.name = asked.value.name;
  }
  const shared = await call<Shared>('share', { body: request });
  await showDialog({
    title: 'Shared',
    body: lines(`id: ${shared.id}`, `spec: ${shared.spec}`, `your teammates run: ${shared.command}`),
    buttons: [Dialog.okButton()]
  });
}
