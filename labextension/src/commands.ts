// The command ids, one place: the sidebar, the toolbar and the palette all run these.
export const SHARE = 'nbcollab:share';
export const SYNC = 'nbcollab:sync';
export const PUBLISH = 'nbcollab:publish';
export const CONFLICTS = 'nbcollab:conflicts';
