"""`python -m aimux_cli` behaves exactly like the `aimux` console script."""

from aimux_cli.fastexit import entry

if __name__ == "__main__":
    entry()
