import sys

from seg3a.cli import main

sys.exit(main())
