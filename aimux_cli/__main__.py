"""`python -m aimux_cli` behaves exactly like the `aimux` console script."""

from aimux_cli.cli import main

if __name__ == "__main__":
    main()
