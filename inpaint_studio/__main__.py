"""`python -m inpaint_studio` entry point."""

import sys

from inpaint_studio.cli import main

sys.exit(main())
