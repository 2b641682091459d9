"""`python -m marquez serve --host H --port P --db-url URL`: the built-in server in the foreground."""

from marquez.serve import cli

if __name__ == "__main__":
    cli()
