// A file the teammate may not read (a link into someone else's folder): JupyterLab's own error
// dialog shows the server's one line (whose it is, and that a share is the way in) instead of
// "Unhandled error".
import { Contents, ServerConnection } from '@jupyterlab/services';

import { call } from './api';

const UNREADABLE = new Set([403, 500]);

async function explained(path: string, error: unknown): Promise<unknown> {
  if (!(error instanceof ServerConnection.ResponseError) || !UNREADABLE.has(error.response.status)) {
    return error;
  }
  try {
    const { message } = await call<{ message: string }>('whose', { query: { path } });
    return new Error(message);
  } catch {
    return error; // the server cannot say more: JupyterLab's own message stands
  }
}

/** Makes `contents.get` failures on unreadable files carry the one-line explanation. */
export function explainUnreadable(contents: Contents.IManager): void {
  const get = contents.get.bind(contents);
  contents.get = async (path: string, options?: Contents.IFetchOptions) => {
    try {
      return await get(path, options);
    } catch (error) {
      throw await explained(path, error);
    }
  };
}
