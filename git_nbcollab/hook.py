"""Entry point named in every collaboration's hook shims (`python -I -m git_nbcollab.hook NAME`):
a stable name for existing hubs; the hooks themselves are `git_nbcollab.hub.hook`."""

import sys

from git_nbcollab.hub.hook import main

if __name__ == "__main__":
    sys.exit(main())
