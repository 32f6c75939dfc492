import sys

from regrowth.cli import main

sys.exit(main())
