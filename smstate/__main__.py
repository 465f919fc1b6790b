from smstate.cli import entry

entry()
