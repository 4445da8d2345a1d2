// Sync from JupyterLab: save the working copy's open documents, sync, reload them from disk.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { showDialog, Dialog } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { call, SyncResult } from './api';
import { CONFLICTS } from './commands';
import { lines } from './ui';
import { openUnder, reloadAll, saveAll, workingCopy } from './documents';

/** Saves the working copy's open documents, syncs (POST `endpoint` with `body`), reloads the
 * open documents whose files the sync wrote (all of them if it failed: it may have written some)
 * and says what came in, or opens the conflicts panel when cells collide. Throws `Refused`. */
export async function sync(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  path: string,
  endpoint = 'sync',
  body: { [key: string]: unknown } = {}
): Promise<SyncResult> {
  const documents = openUnder(app, docManager, await workingCopy(path));
  await saveAll(documents);
  let result: SyncResult;
  try {
    result = await call<SyncResult>(endpoint, { body: { path, ...body } });
  } catch (error) {
    await reloadAll(documents);
    throw error;
  }
  const written = new Set(result.written);
  const failed = await reloadAll(documents.filter(context => written.has(context.path)));
  if (result.conflicts.length > 0) {
    await app.commands.execute(CONFLICTS, { path });
    return result;
  }
  const said = [result.summary];
  if (failed.length > 0) {
    said.push(`could not reload ${failed.join(', ')}: close and open them again`);
  }
  void showDialog({
    title: endpoint === 'sync' ? 'Synced' : 'Conflicts resolved',
    body: lines(...said),
    buttons: [Dialog.okButton()]
  });
  return result;
}
