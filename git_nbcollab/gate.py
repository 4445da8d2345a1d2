"""Entry point named in every hub's `authorized_keys` (`python -I -m git_nbcollab.gate ROOT USER`):
a stable name for existing hubs; the gate itself is `git_nbcollab.hub.gate`."""

import sys

from git_nbcollab.hub.gate import main

if __name__ == "__main__":
    sys.exit(main())
