"""``python -m journeylang.cli``: Ctrl-C exits 130 even while the commands are still loading."""
import sys

try:
    from . import main
except KeyboardInterrupt:
    sys.stderr.write("\ninterrupted\n")
    sys.exit(130)

main(prog_name="journey")
