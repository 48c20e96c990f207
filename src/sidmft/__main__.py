"""``python -m sidmft`` runs the command-line interface (the same as the ``sidmft`` script)."""

from sidmft.cli import main

if __name__ == "__main__":
    main(prog_name="sidmft")
