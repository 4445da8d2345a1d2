// git-nbcollab in JupyterLab: share, sync, resolve conflicts, publish. Thin: every rule and
// every state lives in the Python server extension (git_nbcollab/lab); this renders its answers.
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { report } from './api';
import { ConflictsPanel } from './conflicts';
import { explainUnreadable } from './permission';
import { publish } from './publish';
import { share } from './share';
import { Sidebar } from './sidebar';
import { markStale } from './stale';
import { sync } from './sync';
import { CONFLICTS, PUBLISH, SHARE, SYNC } from './commands';

const icon = new LabIcon({
  name: 'git-nbcollab:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="6" cy="6" r="3"/><circle cx="18" cy="6" r="3"/><circle cx="12" cy="18" r="3"/>' +
    '<path d="M6 9v2a3 3 0 0 0 3 3h2v1h2v-1h2a3 3 0 0 0 3-3V9h-2v2a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V9z"/>' +
    '</g></svg>'
});

function activate(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  browsers: IFileBrowserFactory,
  notebooks: INotebookTracker,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null
): void {
  const { commands } = app;
  const sidebar = new Sidebar(app, docManager);
  sidebar.title.icon = icon;
  app.shell.add(sidebar, 'left', { rank: 600 });
  restorer?.add(sidebar, sidebar.id);

  /** The path a command acts on: its `path` argument, else the current notebook's. */
  const pathOf = (args: { [key: string]: unknown }): string =>
    (args.path as string | undefined) ?? notebooks.currentWidget?.context.path ?? '';

  commands.addCommand(SHARE, {
    label: 'Share with teammates…',
    icon,
    execute: async () => {
      const item = browsers.tracker.currentWidget?.selectedItems().next();
      const path = item && !item.done ? item.value.path : '';
      try {
        await share(path);
      } catch (error) {
        await report('Cannot share', error);
      }
      void sidebar.refresh();
    }
  });
  app.contextMenu.addItem({
    command: SHARE,
    selector: '.jp-DirListing-item[data-file-type="notebook"]',
    rank: 3
  });

  commands.addCommand(SYNC, {
    label: 'Sync with teammates',
    caption: 'Save, sync this working copy with the teammates, reload from disk',
    icon,
    execute: async args => {
      try {
        await sync(app, docManager, pathOf(args));
      } catch (error) {
        await report('Cannot sync', error);
      }
      void sidebar.refresh();
    }
  });

  commands.addCommand(CONFLICTS, {
    label: 'Show sync conflicts',
    execute: async args => {
      const path = pathOf(args);
      const id = `nbcollab-conflicts-${path}`;
      let shell = [...app.shell.widgets('main')].find(w => w.id === id) as
        | MainAreaWidget<ConflictsPanel>
        | undefined;
      if (!shell) {
        shell = new MainAreaWidget({ content: new ConflictsPanel(app, docManager, path) });
        shell.id = id;
        shell.title.label = 'Conflicts';
        shell.title.icon = icon;
        app.shell.add(shell, 'main', { mode: 'split-right' });
      }
      app.shell.activateById(id);
      try {
        await shell.content.load();
      } catch (error) {
        await report('Cannot show the conflicts', error);
      }
    }
  });

  commands.addCommand(PUBLISH, {
    label: 'Publish a version…',
    icon,
    execute: async args => {
      try {
        if (await publish(docManager, pathOf(args))) {
          notebooks.forEach(panel => void markStale(panel));
        }
      } catch (error) {
        await report('Cannot publish', error);
      }
      void sidebar.refresh();
    }
  });

  for (const command of [SYNC, PUBLISH, CONFLICTS]) {
    palette?.addItem({ command, category: 'git-nbcollab' });
  }

  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (panel: NotebookPanel) => {
      const button = new ToolbarButton({
        icon,
        label: 'Sync',
        tooltip: 'Save, sync with the teammates, reload from disk',
        onClick: () => void commands.execute(SYNC, { path: panel.context.path })
      });
      panel.toolbar.insertItem(10, 'nbcollab-sync', button);
      void markStale(panel);
      return button;
    }
  });

  explainUnreadable(app.serviceManager.contents);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'git-nbcollab:plugin',
  description: 'Share, sync, resolve conflicts and publish notebooks with git-nbcollab',
  autoStart: true,
  requires: [IDocumentManager, IFileBrowserFactory, INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer],
  activate
};

export default plugin;
