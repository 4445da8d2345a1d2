// The Collaborations sidebar: what `git nbcollab list` shows and, for the working copy of the
// open document, whose work is not merged yet, the published versions and the project.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Widget } from '@lumino/widgets';

import { call, Collab, firstLine, Status, Version } from './api';
import { CONFLICTS, PUBLISH, SYNC } from './commands';
import { el } from './ui';

function value(text: unknown): Node {
  const shown = Array.isArray(text)
    ? text.join(', ')
    : typeof text === 'object' && text !== null
      ? JSON.stringify(text)
      : String(text);
  if (/^https?:\/\//.test(shown)) {
    return el('a', '', [shown], { href: shown, target: '_blank', rel: 'noopener' });
  }
  return document.createTextNode(shown);
}

function facts(record: { [key: string]: unknown }): HTMLElement {
  return el(
    'dl',
    'jp-nbcollab-facts',
    Object.entries(record).flatMap(([key, text]) => [el('dt', '', [key]), el('dd', '', [value(text)])])
  );
}

/** A published version: its name and message, the rest of its metadata when opened. */
function version(record: Version): HTMLElement {
  const title = `${record.shown ?? record.version}${record.message ? ` · ${record.message}` : ''}`;
  return el('details', 'jp-nbcollab-version', [el('summary', '', [title]), facts(record)]);
}

function section(title: string, children: Node[], empty: string): HTMLElement {
  return el('section', 'jp-nbcollab-section', [
    el('h3', '', [title]),
    ...(children.length ? children : [el('p', 'jp-nbcollab-empty', [empty])])
  ]);
}

export class Sidebar extends Widget {
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private app: JupyterFrontEnd,
    private docManager: IDocumentManager
  ) {
    super();
    this.id = 'nbcollab-sidebar';
    this.title.caption = 'Collaborations';
    this.addClass('jp-nbcollab-sidebar');
    app.shell.currentChanged?.connect(() => this.refresh());
  }

  /** The path of the document in the current tab, if any. */
  private currentPath(): string | null {
    const widget = this.app.shell.currentWidget;
    return (widget && this.docManager.contextForWidget(widget)?.path) ?? null;
  }

  refresh(): Promise<void> {
    if (this.isVisible) {
      this.refreshing = this.refreshing.then(() => this.render());
    }
    return this.refreshing;
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private async render(): Promise<void> {
    const refresh = el('button', 'jp-mod-styled jp-nbcollab-refresh', ['Refresh'], {
      onclick: () => void this.refresh()
    });
    const parts: Node[] = [el('h2', '', ['Collaborations']), refresh];
    try {
      const { collabs } = await call<{ collabs: Collab[] }>('collabs');
      const rows = collabs.map(c =>
        el('li', 'jp-nbcollab-collab', [
          el('strong', '', [c.name]),
          ` ${c.id} · ${c.members.join(', ')}`
        ])
      );
      parts.push(section('Mine', rows.length ? [el('ul', '', rows)] : [], 'none yet'));
      const path = this.currentPath();
      if (path) {
        parts.push(...(await this.workingCopy(path)));
      }
    } catch (error) {
      parts.push(el('p', 'jp-nbcollab-error', [firstLine(error)]));
    }
    this.node.replaceChildren(...parts);
  }

  private async workingCopy(path: string): Promise<Node[]> {
    const status = await call<Status>('status', { query: { path } });
    if (!status.collab) {
      return [el('p', 'jp-nbcollab-empty', [`${path} is not in a collaboration's working copy`])];
    }
    const unmerged = status.unmerged.map(u =>
      el('li', '', [`${u.author}: ${u.commits} commit${u.commits === 1 ? '' : 's'}`])
    );
    const button = (label: string, command: string) =>
      el('button', 'jp-mod-styled jp-nbcollab-action', [label], {
        onclick: () => void this.app.commands.execute(command, { path })
      });
    return [
      el('h2', '', [`${status.collab.name} (${status.collab.id})`]),
      el('div', 'jp-nbcollab-actions', [
        button('Sync', SYNC),
        button('Publish…', PUBLISH),
        button('Conflicts', CONFLICTS)
      ]),
      status.unsynced
        ? el('p', 'jp-nbcollab-unsynced', [`Not synced yet: ${status.unsynced_reason || 'your work'}`])
        : '',
      section('Not merged yet', unmerged.length ? [el('ul', '', unmerged)] : [], 'nothing'),
      section('Published versions', status.versions.map(version), 'none yet'),
      section('Project', Object.keys(status.project).length ? [facts(status.project)] : [], 'no project set')
    ].filter(node => node !== '') as Node[];
  }
}
