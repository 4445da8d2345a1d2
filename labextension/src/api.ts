// The REST calls to the server extension (git_nbcollab/lab): the only place that knows the URLs.
// A refusal is one line (`{"error": "..."}`, HTTP 400) and is shown as that line, never a trace.
import { showErrorMessage } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface Collab {
  id: string;
  name: string;
  members: string[];
  branches: string[];
}

export interface Version {
  version: string;
  [key: string]: unknown;
}

export interface Status {
  collab: Collab | null;
  unmerged: { author: string; commits: number }[];
  versions: Version[];
  project: { [key: string]: unknown };
  unsynced: boolean;
  unsynced_reason?: string; // what is not synced, in a few words
}

export interface Conflict {
  file: string;
  cell: number; // counted from 1, as JupyterLab's status bar counts
  index: number; // counted from 0
  mine: string;
  theirs: string;
  theirs_author: string;
}

export interface SyncResult {
  summary: string;
  changed: string[];
  written: string[]; // the files the sync wrote on disk, relative to the server root
  conflicts: unknown[]; // what collides, if anything: the panel asks for the details
}

export interface Shared {
  id: string;
  spec: string;
  command: string;
}

export interface Publication {
  version: string;
  summary: string[]; // what the merge keeps, a line each
  authors: string[];
  files: string[];
  published?: string; // the read-only copy, relative to the server root
  tag?: string;
}

export interface PublishedState {
  name: string;
  version: string;
  latest: string;
  stale: boolean;
}

export type Choice = 'mine' | 'theirs' | 'both';

/** A refusal or failure, worded for the person: one line. */
export class Refused extends Error {}

let queue: Promise<unknown> = Promise.resolve();

/** Calls `/nbcollab/<endpoint>`: GET with `query`, or POST with `body`. One call at a time:
 * the server refuses a sync while a status it asked for is fetching in that working copy. */
export function call<T>(
  endpoint: string,
  options: { query?: { [key: string]: string }; body?: unknown } = {}
): Promise<T> {
  const next = queue.then(() => request<T>(endpoint, options));
  queue = next.catch(() => undefined);
  return next;
}

async function request<T>(
  endpoint: string,
  options: { query?: { [key: string]: string }; body?: unknown } = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  let url = URLExt.join(settings.baseUrl, 'nbcollab', endpoint);
  if (options.query) {
    url += URLExt.objectToQueryString(options.query);
  }
  const init: RequestInit = {};
  if (options.body !== undefined) {
    init.method = 'POST';
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new Refused(`cannot reach the JupyterLab server (${firstLine(error)})`);
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (data && typeof data.error === 'string') {
      throw new Refused(data.error);
    }
    throw new Refused(
      `git-nbcollab failed on the server (HTTP ${response.status}); the JupyterLab server log says why`
    );
  }
  return data as T;
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

/** Shows a failure as its one line in a dialog. */
export async function report(title: string, error: unknown): Promise<void> {
  await showErrorMessage(title, firstLine(error));
}
