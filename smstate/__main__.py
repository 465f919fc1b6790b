"""`python -m smstate`: the same as the `smstate` command."""

from .cli import entry

if __name__ == "__main__":
    entry()
