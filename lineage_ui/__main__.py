"""`python -m lineage_ui serve [--host H] [--port P]`: the lineage UI in the foreground."""

from lineage_ui.serve import cli

if __name__ == "__main__":
    cli()
