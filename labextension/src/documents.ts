// The open documents of one working copy: saved before a sync, reloaded from disk after it, so
// no tab can hold a file from before the sync.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';

import { call, firstLine, Refused, Status } from './api';

export type Context = DocumentRegistry.Context;

const tops = new Map<string, string>(); // a file's working copy does not move while it is open

/** The top of the working copy holding `path` (relative to the server root), or null when
 * `path` is in none (then the server's own answer says so). */
export async function workingCopy(path: string): Promise<string | null> {
  if (!tops.has(path)) {
    const { root } = await call<Status>('status', { query: { path } });
    if (root === undefined || root === null) {
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

/** Saves every dirty document; refuses (naming the file) if one could not be saved. */
export async function saveAll(contexts: Context[]): Promise<void> {
  for (const context of contexts) {
    if (!context.model.dirty || context.model.readOnly) {
      continue;
    }
    try {
      await context.save();
    } catch (error) {
      throw new Refused(`could not save ${context.path} (${firstLine(error)}): nothing was synced`);
    }
    if (context.model.dirty) {
      throw new Refused(`${context.path} was not saved: nothing was synced`);
    }
  }
}

/** Reloads every document from disk; returns the files that could not be reloaded. */
export async function reloadAll(contexts: Context[]): Promise<string[]> {
  const failed: string[] = [];
  for (const context of contexts) {
    try {
      await context.revert();
    } catch {
      failed.push(context.path);
    }
  }
  return failed;
}
