// The open documents of one working copy: saved before a sync, reloaded from disk after it, so
// no tab can hold a file from before the sync.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';

import { call, firstLine, Refused } from './api';

export type Context = DocumentRegistry.Context;

const tops = new Map<string, string>(); // a file's working copy does not move while it is open

/** The top of the working copy holding `path` (relative to the server root), or null when
 * `path` is in none (then the server's own answer says so). */
export async function workingCopy(path: string): Promise<string | null> {
  if (!tops.has(path)) {
    const { root } = await call<{ root: string | null }>('top', { query: { path } });
    if (root === null) {
      return null;
    }
    tops.set(path, root);
  }
  return tops.get(path) ?? null;
}

function under(root: string, path: string): boolean {
  return root === '' || path === root || path.startsWith(root + '/');
}

/** Each open document under `root`, once (a notebook open in two tabs has one context). */
export function openUnder(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  root: string | null
): Context[] {
  if (root === null) {
    return [];
  }
  const found = new Map<string, Context>();
  for (const widget of app.shell.widgets('main')) {
    const context = docManager.contextForWidget(widget);
    if (context && under(root, context.path)) {
      found.set(context.path, context);
    }
  }
  return [...found.values()];
}

/** Saves every dirty document, all at once; refuses (naming a file) if one was not saved. */
export async function saveAll(contexts: Context[]): Promise<void> {
  const dirty = contexts.filter(context => context.model.dirty && !context.model.readOnly);
  const saved = await Promise.allSettled(dirty.map(context => context.save()));
  saved.forEach((outcome, at) => {
    const { path } = dirty[at];
    if (outcome.status === 'rejected') {
      throw new Refused(`could not save ${path} (${firstLine(outcome.reason)}): nothing was synced`);
    }
    if (dirty[at].model.dirty) {
      throw new Refused(`${path} was not saved: nothing was synced`);
    }
  });
}

/** Reloads the documents from disk, all at once; returns the files that could not be reloaded. */
export async function reloadAll(contexts: Context[]): Promise<string[]> {
  const reloaded = await Promise.allSettled(contexts.map(context => context.revert()));
  return contexts.filter((_, at) => reloaded[at].status === 'rejected').map(c => c.path);
}
